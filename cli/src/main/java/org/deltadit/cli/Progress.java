package org.deltadit.cli;

import java.io.PrintStream;

/**
 * A progress bar on stderr: step, seconds per step, ETA. On a terminal it redraws one line; in a
 * log (no console) it prints a line at every tenth of the run so logs stay short.
 */
final class Progress {
    private final PrintStream err;
    private final boolean tty = System.console() != null;
    private final String label;
    private final int total;
    private final long start = System.nanoTime();
    private long last = start;
    private int lastPrintedTenth = -1;
    final double[] stepSeconds;
    private int done;

    Progress(PrintStream err, String label, int total) {
        this.err = err;
        this.label = label;
        this.total = total;
        this.stepSeconds = new double[total];
    }

    void step() {
        long now = System.nanoTime();
        stepSeconds[done++] = (now - last) / 1e9;
        last = now;
        double perStep = (now - start) / 1e9 / done;
        double eta = perStep * (total - done);
        int width = 24, fill = (int) Math.round(width * (double) done / total);
        String bar = "#".repeat(fill) + ".".repeat(width - fill);
        String line = String.format("%s %d/%d [%s] %.2f s/it, ETA %.0f s", label, done, total, bar, perStep, eta);
        if (tty) {
            err.print("\r" + line + (done == total ? "\n" : ""));
            err.flush();
        } else {
            int tenth = done * 10 / total;
            if (tenth != lastPrintedTenth || done == total) {
                lastPrintedTenth = tenth;
                err.println(line);
            }
        }
    }

    double elapsed() { return (System.nanoTime() - start) / 1e9; }
}
