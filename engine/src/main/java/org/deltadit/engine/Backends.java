package org.deltadit.engine;

import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.engine.reference.ReferenceBackend;

/**
 * Chooses the backend once per JVM: {@code -Ddit.backend=cpu|reference} (default cpu) and
 * {@code -Ddit.threads=N} (default: available processors). If the Vector API module is missing
 * (a JVM started without {@code --add-modules jdk.incubator.vector}) it falls back to the
 * reference backend and says so. The choice is logged once on stderr.
 */
public final class Backends {
    private Backends() {}

    private static volatile Backend current;

    /** The process-wide backend, created on first use. */
    public static Backend get() {
        Backend b = current;
        if (b == null) {
            synchronized (Backends.class) {
                if (current == null) {
                    current = create(System.getProperty("dit.backend", "cpu"), threadsProperty());
                    Log.info("engine: " + current.describe());
                }
                b = current;
            }
        }
        return b;
    }

    /** A backend by name; "cpu" falls back to "reference" when the Vector API is unavailable. */
    public static Backend create(String name, int threads) {
        return switch (name.trim().toLowerCase()) {
            case "reference" -> new ReferenceBackend();
            case "cpu" -> {
                try {
                    yield new CpuBackend(threads);
                } catch (LinkageError e) {
                    Log.info("engine: Vector API unavailable (" + e + "); add --add-modules jdk.incubator.vector. Falling back to the reference backend");
                    yield new ReferenceBackend();
                }
            }
            default -> throw new IllegalArgumentException("unknown backend '" + name + "' (cpu or reference)");
        };
    }

    /** Threads from -Ddit.threads, else the available processors. */
    public static int threadsProperty() {
        String p = System.getProperty("dit.threads");
        if (p == null || p.isBlank()) return Runtime.getRuntime().availableProcessors();
        try {
            int n = Integer.parseInt(p.trim());
            if (n < 1) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("dit.threads: '" + p + "' (must be a positive integer)");
        }
    }
}
