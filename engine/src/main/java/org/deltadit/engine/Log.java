package org.deltadit.engine;

/** Informational lines on stderr (stdout stays for results and --json); -Ddit.quiet=true silences them. */
public final class Log {
    private Log() {}

    private static final boolean QUIET = Boolean.getBoolean("dit.quiet");

    public static void info(String line) {
        if (!QUIET) System.err.println(line);
    }
}
