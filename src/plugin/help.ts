// The help texts of `kubectl keyward`.

import type { CommandName } from "./args.ts";

const COMMON = [
  "Common flags:",
  "  -n, --namespace NAMESPACE   the namespace (default: the kubeconfig context's, else default)",
  "      --kubeconfig FILE       the kubeconfig (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)",
  "      --context NAME          a context of the kubeconfig instead of its current one",
  "  -h, --help                  this text",
];

const DRY_RUN = "      --dry-run               have the API server check the change without storing it";

const TEXTS: Record<CommandName, string[]> = {
  rotate: [
    "Usage: kubectl keyward rotate APIKEY [--value TEXT] [--dry-run] [flags]",
    "",
    "Rotates the ApiKey once: sets spec.rotate to a new value (the current time, or --value). The",
    "controller publishes a new key, activates it after the rotation policy's prePublish and deposes",
    "the current key for the grace period. Warns when a rotation is already pending.",
    "",
    "      --value TEXT            the request value (1-63 characters, e.g. a ticket number)",
    DRY_RUN,
  ],
  revoke: [
    "Usage: kubectl keyward revoke APIKEY (--deposed | --all | --before TIME) [--value TEXT] [--dry-run] [flags]",
    "",
    "Revokes tokens of the ApiKey. Irreversible.",
    "",
    "      --deposed               tokens issued before the last rotation: drops the deposed key (spec.dropDeposed)",
    "      --all                   every token: rotates without pre-publication and drops the deposed key (spec.revokeAll)",
    "      --before TIME           tokens issued before TIME (RFC 3339, or \"now\"): sets spec.revokeIssuedBefore,",
    "                              which can only move later",
    "      --value TEXT            with --deposed or --all: the request value (default: the current time)",
    DRY_RUN,
  ],
  "revoke-token": [
    "Usage: kubectl keyward revoke-token ACCESSTOKEN [--dry-run] [flags]",
    "",
    "Revokes every token issued for the AccessToken and stops issuing: sets spec.revoked to true.",
    "Irreversible.",
    "",
    DRY_RUN,
  ],
  token: [
    "Usage: kubectl keyward token ACCESSTOKEN [flags]",
    "",
    "Prints the AccessToken's current token, read from its Secret (key \"token\"). Reading it needs get",
    "on that Secret: the \"API key administration\" permission.",
  ],
  status: [
    "Usage: kubectl keyward status [-n NAMESPACE | -A] [flags]",
    "",
    "One line per ApiKey: its keys and their states, the active kid, the next rotation, and the",
    "generation and size of the namespace's bundle ConfigMap keyward-bundle.",
    "",
    "  -A, --all-namespaces        every namespace",
  ],
  inject: [
    "Usage: kubectl keyward inject -f FILE [--image IMAGE]",
    "",
    "Prints the manifests with the keyward verifier injected into every Pod and Pod template, as the",
    "admission webhook does it (the same code): for GitOps repositories that hold rendered",
    "manifests. A Pod template labelled keyward.dev/inject: \"false\" is left out; settings come from",
    "its keyward.dev/* annotations. Nothing is sent to the cluster.",
    "",
    "  -f, --filename FILE         the manifests (YAML, several documents); - reads stdin",
    "  --image IMAGE               the verifier image; default the keyward image of this version",
  ],
};

export function commandHelp(command: CommandName): string {
  return [...TEXTS[command], "", ...COMMON, ""].join("\n");
}

export function overviewHelp(): string {
  return [
    "Usage: kubectl keyward <command> [flags]",
    "",
    "Operates keyward API keys. Every change is a patch of the object's spec, as a commit to Git would be.",
    "",
    "Commands:",
    "  rotate APIKEY                            rotate the key once (spec.rotate)",
    "  revoke APIKEY --deposed|--all|--before   revoke tokens of the key (irreversible)",
    "  revoke-token ACCESSTOKEN                 revoke an access token (spec.revoked, irreversible)",
    "  token ACCESSTOKEN                        print the current token of an AccessToken",
    "  status [-n NAMESPACE | -A]               keys, their states, next rotation and the bundle",
    "  inject -f FILE                           print manifests with the verifier sidecar injected",
    "",
    ...COMMON,
    "",
    "Run kubectl keyward <command> --help for the flags of a command.",
    "",
  ].join("\n");
}
