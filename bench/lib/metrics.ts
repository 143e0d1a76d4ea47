// Reading a process's Prometheus /metrics page in a bench.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample of http://127.0.0.1:<port>/metrics. */
export async function scrape(port: number): Promise<Sample[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{([^}]*)\})? ([0-9.e+-]+|NaN)$/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-z_]+)="([^"]*)"/g)) labels[l[1] ?? ""] = l[2] ?? "";
    out.push({ name: m[1] ?? "", labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the samples named `name` whose labels pass `filter`. */
export function sum(samples: Sample[], name: string, filter: (labels: Record<string, string>) => boolean = () => true): number {
  return samples.filter((s) => s.name === name && filter(s.labels)).reduce((a, s) => a + s.value, 0);
}
