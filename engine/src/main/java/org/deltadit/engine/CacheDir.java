package org.deltadit.engine;

import java.nio.file.Path;

/** Where the engine keeps what it may throw away and remake: compiled kernels, benchmark history. */
public final class CacheDir {
    private CacheDir() {}

    /** {@code $XDG_CACHE_HOME/dit}, else {@code ~/.cache/dit}; null where there is neither. */
    public static Path dit() {
        String base = System.getenv("XDG_CACHE_HOME");
        if (base == null || base.isBlank()) {
            String home = System.getProperty("user.home");
            if (home == null || home.isBlank()) return null;
            base = home + "/.cache";
        }
        return Path.of(base, "dit");
    }
}
