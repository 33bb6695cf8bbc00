package org.deltadit.engine;

import java.util.Locale;
import org.deltadit.engine.cpu.CpuBackend;
import org.deltadit.engine.reference.ReferenceBackend;

/**
 * The one place a compute device is chosen. A front end passes what its user gave (a {@code --device}
 * and {@code --threads}, each may be null); what was not given comes from the JVM properties
 * {@code -Ddit.device} (or its older name {@code -Ddit.backend}) and {@code -Ddit.threads}, else the
 * defaults: {@code cpu} on every available core. An unknown device is an error, never a fallback;
 * only a JVM started without the Vector API module falls back from cpu to reference, and says so.
 */
public final class Backends {
    private Backends() {}

    /** The device names {@link #select} accepts. */
    public static final String DEVICES = "cpu, reference, opencl[:N], cuda[:N]";

    /** A backend for {@code device} and {@code threads} (null: from the properties, else the defaults). */
    public static Backend select(String device, Integer threads) {
        String name = device;
        String param = "device";
        if (name == null) {
            for (String p : new String[] {"dit.device", "dit.backend"}) {
                String v = System.getProperty(p);
                if (v != null && !v.isBlank()) {
                    name = v;
                    param = p;
                    break;
                }
            }
        }
        int n;
        if (threads != null) {
            InvalidParameter.require(threads >= 1, "threads", threads + " (must be at least 1)");
            n = threads;
        } else {
            n = threadsProperty();
        }
        return create(name == null ? "cpu" : name, n, param);
    }

    /** A backend by name; "cpu" falls back to "reference" when the Vector API is unavailable. */
    public static Backend create(String name, int threads) { return create(name, threads, "device"); }

    private static Backend create(String name, int threads, String param) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.equals("opencl") || n.startsWith("opencl:")) {
            int index = index(n, "opencl", name, param);
            try {
                return new org.deltadit.engine.opencl.OpenClBackend(index);
            } catch (InvalidParameter e) {
                throw new InvalidParameter(param, e.problem());
            }
        }
        if (n.equals("cuda") || n.startsWith("cuda:")) {
            int index = index(n, "cuda", name, param);
            try {
                return new org.deltadit.engine.cuda.CudaBackend(index, org.deltadit.engine.cuda.CudaBackend.Gemm.fromProperty());
            } catch (InvalidParameter e) {
                throw new InvalidParameter(param, e.problem());
            }
        }
        return switch (n) {
            case "reference" -> new ReferenceBackend();
            case "cpu" -> {
                try {
                    yield new CpuBackend(threads);
                } catch (LinkageError e) {
                    Log.info("engine: Vector API unavailable (" + e + "); add --add-modules jdk.incubator.vector. Falling back to the reference backend");
                    yield new ReferenceBackend();
                }
            }
            default -> throw new InvalidParameter(param, "unknown device '" + name + "' (" + DEVICES + ")");
        };
    }

    /** N of "kind:N" (0 for "kind" alone); a non-number names the device as the user wrote it. */
    private static int index(String n, String kind, String name, String param) {
        if (n.equals(kind)) return 0;
        try {
            return Integer.parseInt(n.substring(kind.length() + 1));
        } catch (NumberFormatException e) {
            throw new InvalidParameter(param, "'" + name + "': " + kind + ":N takes a device number (dit devices lists them)");
        }
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
            throw new InvalidParameter("dit.threads", "'" + p + "' (must be a positive integer)");
        }
    }
}
