// The image of the controller's own container, read from its Pod: the sidecar injected is the
// same build as the controller that injects it, even when an overlay changes the image.

import type { KubeClient } from "../kube/client.ts";
import type { Resource } from "../kube/resources.ts";
import type { KubeObject } from "../kube/types.ts";

const PODS: Resource = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };

interface PodObject extends KubeObject {
  spec?: { containers?: { name: string; image?: string }[] };
}

/** The image of container `container` (else the first) of Pod namespace/name. Throws naming what is missing. */
export async function ownImage(client: KubeClient, namespace: string, name: string, container = "controller"): Promise<string> {
  const pod = await client.get<PodObject>(PODS, { namespace, name });
  const containers = pod.spec?.containers ?? [];
  const image = (containers.find((c) => c.name === container) ?? containers[0])?.image;
  if (image === undefined || image === "") throw new Error(`Pod ${namespace}/${name} has no container image to inject; set --sidecar-image`);
  return image;
}
