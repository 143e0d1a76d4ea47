// Kubernetes object names: a namespace (the tenant) is a DNS-1123 label, ApiKeys
// and AccessPolicies are DNS-1123 subdomains.

const LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

export function isDns1123Label(name: string): boolean {
  return name.length <= 63 && LABEL.test(name);
}

export function isDns1123Subdomain(name: string): boolean {
  return name.length <= 253 && SUBDOMAIN.test(name);
}
