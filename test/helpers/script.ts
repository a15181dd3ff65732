// Run an ES module script in a child Node (this test's Node) and collect its stdout; stderr is
// inherited so a failing script shows why. A script still running after `timeoutMs` is killed
// and reported with code null: the tests that use this check that a script exits by itself.
import { spawn } from 'node:child_process';

export interface ScriptResult {
  /** The exit code, or null if the script was killed at the deadline. */
  code: number | null;
  stdout: string;
}

export function runScript(script: string, timeoutMs: number): Promise<ScriptResult> {
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      proc.kill();
      resolve({ code: null, stdout });
    }, timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}
