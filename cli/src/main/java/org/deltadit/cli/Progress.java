package org.deltadit.cli;

import java.io.PrintStream;
import org.deltadit.pipeline.ProgressListener;

/**
 * A progress bar on stderr: step, seconds per step, ETA. On a terminal it redraws one line; in a
 * log (no console) it prints a line at every tenth of the run so logs stay short.
 */
final class Progress implements ProgressListener {
    private final PrintStream err;
    private final boolean tty = System.console() != null;
    private final String label;
    private int lastPrintedTenth = -1;

    Progress(PrintStream err, String label) {
        this.err = err;
        this.label = label;
    }

    @Override
    public void step(int done, int total, double seconds) {
        double perStep = seconds / done;
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
}
