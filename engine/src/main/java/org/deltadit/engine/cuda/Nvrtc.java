package org.deltadit.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.deltadit.engine.Log;
import org.deltadit.engine.device.Kernels;

/**
 * NVRTC, CUDA's run-time compiler (libnvrtc), through java.lang.foreign: compiles the shared kernels as
 * CUDA C to PTX, which the driver then loads for its GPU. Needs no GPU, so CI checks on a CPU machine that
 * every kernel compiles. PTX is cached on disk by a hash of the source, options and NVRTC version.
 */
public final class Nvrtc {
    private Nvrtc() {}

    static final Native LIB = new Native("dit.cuda.nvrtc", "DIT_CUDA_NVRTC", "libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2");

    private static final MethodHandle version = LIB.find("nvrtcVersion", JAVA_INT, ADDRESS, ADDRESS),
            create = LIB.find("nvrtcCreateProgram", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS),
            compile = LIB.find("nvrtcCompileProgram", JAVA_INT, ADDRESS, JAVA_INT, ADDRESS),
            ptxSize = LIB.find("nvrtcGetPTXSize", JAVA_INT, ADDRESS, ADDRESS),
            ptx = LIB.find("nvrtcGetPTX", JAVA_INT, ADDRESS, ADDRESS),
            logSize = LIB.find("nvrtcGetProgramLogSize", JAVA_INT, ADDRESS, ADDRESS),
            log = LIB.find("nvrtcGetProgramLog", JAVA_INT, ADDRESS, ADDRESS),
            destroy = LIB.find("nvrtcDestroyProgram", JAVA_INT, ADDRESS);
    private static final String BIND_ERROR = LIB.bindError();

    /** Whether NVRTC loaded with every call bound. */
    public static boolean available() { return LIB.present() && BIND_ERROR == null; }

    /** Why not. */
    public static String reason() { return !LIB.present() ? "NVRTC: " + LIB.reason() : BIND_ERROR; }

    /** "major.minor" of the NVRTC that loaded. */
    public static String version() {
        require();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(JAVA_INT), minor = a.allocate(JAVA_INT);
            check((int) version.invokeExact(major, minor), "nvrtcVersion", null);
            return major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0);
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("NVRTC: " + t, t);
        }
    }

    private static void require() {
        if (!available()) throw new IllegalStateException(reason());
    }

    /** The shared kernels as PTX for {@code arch} (e.g. "compute_90"), from the cache when compiled before. */
    public static String kernelsPtx(String arch) {
        String source = Kernels.cuda();
        List<String> options = List.of("--gpu-architecture=" + arch, "-std=c++17");
        Path cache = cacheFile(source, options);
        if (cache != null && Files.isReadable(cache)) {
            try {
                return Files.readString(cache, StandardCharsets.UTF_8);
            } catch (IOException e) {
                // a cache that cannot be read is compiled afresh
            }
        }
        String out = compile(source, "ops.cu", options);
        if (cache != null) {
            try {
                Files.createDirectories(cache.getParent());
                Path tmp = Files.createTempFile(cache.getParent(), "ptx", ".tmp");
                Files.writeString(tmp, out, StandardCharsets.UTF_8);
                Files.move(tmp, cache, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                Log.info("cuda: could not cache the PTX in " + cache.getParent() + " (" + e.getMessage() + "); it is compiled again next time");
            }
        }
        return out;
    }

    /** ~/.cache/dit/cuda/&lt;sha-256&gt;.ptx (XDG_CACHE_HOME honoured), or null without a home. */
    private static Path cacheFile(String source, List<String> options) {
        Path base = org.deltadit.engine.CacheDir.dit();
        if (base == null) return null;
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update((version() + "\n" + String.join(" ", options) + "\n" + source).getBytes(StandardCharsets.UTF_8));
            return base.resolve("cuda").resolve(HexFormat.of().formatHex(d.digest()).substring(0, 32) + ".ptx");
        } catch (NoSuchAlgorithmException e) {
            return null;
        }
    }

    /** Compiles CUDA C {@code source} to PTX; a compile error throws with NVRTC's log. */
    public static String compile(String source, String name, List<String> options) {
        require();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prog = a.allocate(ADDRESS);
            check((int) create.invokeExact(prog, a.allocateFrom(source), a.allocateFrom(name), 0, MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram", null);
            MemorySegment p = prog.get(ADDRESS, 0);
            try {
                MemorySegment opts = a.allocate(ADDRESS, options.size());
                for (int i = 0; i < options.size(); i++) opts.setAtIndex(ADDRESS, i, a.allocateFrom(options.get(i)));
                int rc = (int) compile.invokeExact(p, options.size(), opts);
                check(rc, "nvrtcCompileProgram", rc == 0 ? null : programLog(a, p));
                MemorySegment size = a.allocate(JAVA_LONG);
                check((int) ptxSize.invokeExact(p, size), "nvrtcGetPTXSize", null);
                MemorySegment text = a.allocate(size.get(JAVA_LONG, 0) + 1);
                check((int) ptx.invokeExact(p, text), "nvrtcGetPTX", null);
                return text.getString(0);
            } finally {
                int ignored = (int) destroy.invokeExact(prog);
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("NVRTC: " + t, t);
        }
    }

    private static String programLog(Arena a, MemorySegment p) throws Throwable {
        MemorySegment size = a.allocate(JAVA_LONG);
        if ((int) logSize.invokeExact(p, size) != 0) return "(no log)";
        MemorySegment text = a.allocate(size.get(JAVA_LONG, 0) + 1);
        if ((int) log.invokeExact(p, text) != 0) return "(no log)";
        return text.getString(0);
    }

    private static void check(int code, String call, String log) {
        if (code != 0) throw new IllegalStateException("NVRTC " + call + " failed with error " + code + (log == null ? "" : ":\n" + log));
    }
}
