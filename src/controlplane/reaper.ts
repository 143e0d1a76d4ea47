// A watchdog that outlives us: a tiny shell process reading pids on a pipe from
// this process. When the pipe closes without "release" — this process died, even
// by SIGKILL, where no handler of ours runs — it terminates those pids and removes
// the work directory, so a killed test run leaves no control plane behind.
import { spawn } from "node:child_process";

const SCRIPT = `
dir=$1
pids=
while IFS= read -r line; do
  case $line in
    "pid "*) pids="$pids \${line#pid }" ;;
    release) exit 0 ;;
  esac
done
if [ -n "$pids" ]; then
  kill -TERM $pids 2>/dev/null
  i=0
  while [ $i -lt 50 ]; do
    alive=
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL $pids 2>/dev/null
fi
[ -n "$dir" ] && rm -rf -- "$dir"
shift
[ $# -gt 0 ] && "$@" >/dev/null 2>&1
exit 0
`;

export interface Reaper {
  readonly pid: number;
  /** Adds a pid to kill if this process dies before release(). */
  watch(pid: number): void;
  /** Everything was stopped in order: the reaper exits without touching anything. */
  release(): Promise<void>;
}

export function startReaper(opts: { removeDir?: string; onDeath?: readonly string[] } = {}): Reaper {
  const child = spawn("/bin/sh", ["-c", SCRIPT, "keyward-reaper", opts.removeDir ?? "", ...(opts.onDeath ?? [])], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      resolve();
    });
    child.once("error", () => {
      resolve();
    });
  });
  // A broken pipe (the reaper died) must not crash us.
  child.stdin.on("error", () => undefined);
  let released = false;
  return {
    pid: child.pid ?? -1,
    watch(pid: number): void {
      if (!released && pid > 0) child.stdin.write(`pid ${pid}\n`);
    },
    async release(): Promise<void> {
      if (!released) {
        released = true;
        child.stdin.end("release\n");
      }
      await exited;
    },
  };
}
