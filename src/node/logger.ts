import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

/** Pretty, colourised lines in a terminal; JSON lines otherwise (log files, CI, log shippers). */
export function createLogger(level: string, options: { pretty?: boolean; name?: string } = {}): Logger {
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  const base = { level, ...(options.name ? { name: options.name } : {}) };
  return usePretty
    ? pino(base, pretty({ colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" }))
    : pino(base);
}
