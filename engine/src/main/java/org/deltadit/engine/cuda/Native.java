package org.deltadit.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One of NVIDIA's shared libraries, found by the first of its names that loads: a path given by a system
 * property or environment variable, else each soname through the dynamic loader (LD_LIBRARY_PATH, the
 * ld.so cache). Where none loads, {@link #present()} is false and {@link #reason()} says what was tried.
 */
final class Native {
    private final SymbolLookup lib;
    private final String loaded, reason;
    private String missing;
    private final Linker linker = Linker.nativeLinker();

    /** {@code property} (-D) or {@code env} may name the file; else {@code names} in order. */
    Native(String property, String env, String... names) {
        List<String> tried = new ArrayList<>();
        String given = System.getProperty(property);
        if (given == null || given.isBlank()) given = System.getenv(env);
        List<String> candidates = new ArrayList<>();
        if (given != null && !given.isBlank()) candidates.add(given.trim());
        candidates.addAll(List.of(names));
        SymbolLookup found = null;
        String which = null;
        for (String c : candidates) {
            try {
                found = c.contains("/") ? SymbolLookup.libraryLookup(Path.of(c), Arena.global()) : SymbolLookup.libraryLookup(c, Arena.global());
                which = c;
                break;
            } catch (IllegalArgumentException e) {
                tried.add(c + (c.contains("/") && !Files.exists(Path.of(c)) ? " (no such file)" : ""));
            }
        }
        lib = found;
        loaded = which;
        reason = found == null ? "none of " + String.join(", ", tried) + " loads (set -D" + property + " or " + env + " to the library's path, or add its folder to LD_LIBRARY_PATH)" : null;
    }

    boolean present() { return lib != null; }

    String reason() { return reason; }

    /** The name it was loaded by. */
    String loaded() { return loaded; }

    /**
     * A downcall handle for {@code name}, or null where the library is absent or lacks the symbol (the first
     * symbol missing is then {@link #bindError()}): so a class can bind its calls in field initialisers.
     */
    MethodHandle find(String name, MemoryLayout ret, MemoryLayout... args) {
        if (lib == null) return null;
        if (lib.find(name).isEmpty()) {
            if (missing == null) missing = loaded + " lacks " + name;
            return null;
        }
        return bind(name, ret, args);
    }

    /** The first symbol {@link #find} did not find, as a message; null when all were found. */
    String bindError() { return missing; }

    /** A downcall handle for {@code name}; throws naming the library and symbol where it is missing. */
    private MethodHandle bind(String name, MemoryLayout ret, MemoryLayout... args) {
        if (lib == null) throw new IllegalStateException(reason);
        MemorySegment fn = lib.find(name).orElseThrow(() -> new IllegalStateException(loaded + " lacks " + name));
        return linker.downcallHandle(fn, ret == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(ret, args));
    }
}
