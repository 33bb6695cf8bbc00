package org.deltadit.spark;

import java.nio.file.Path;
import org.deltadit.cache.CacheSpec;
import picocli.CommandLine.Option;

/**
 * The cache flags of dit generate (the same names; their meaning is {@link CacheSpec.Named}'s and
 * {@link org.deltadit.pipeline.PolicyFile}'s, shared with the CLI). The CLI's own declarations live in the cli module, whose
 * shaded jar carries the web server: this module declares them again rather than depend on it.
 */
final class CacheFlags {
    @Option(names = "--cache", defaultValue = "none", description = CacheSpec.KINDS + " (default: ${DEFAULT-VALUE})")
    String cache;
    @Option(names = "--gate-step", description = "T-GATE: the last step that attends to the caption")
    Integer gateStep;
    @Option(names = "--b", description = "Δ-DiT stage boundary (default: round(0.6·T))")
    Integer b;
    @Option(names = "--interval", description = "N: a full step every N steps (default 2)")
    Integer interval;
    @Option(names = "--cached-blocks", description = "Δ-DiT: N_c (default ⌈0.75·depth⌉); faster-diffusion: I")
    Integer cachedBlocks;
    @Option(names = "--range", description = "I:J or shallow, middle, deep")
    String range;
    @Option(names = "--speedup", description = "Δ-DiT: target MAC speedup")
    Double speedup;
    @Option(names = "--reverse", description = "Δ-DiT reversed")
    boolean reverse;
    @Option(names = "--branch", description = "deepcache (SD 1.x U-Net): the skip of the first level whose deep side is cached (default 0)")
    Integer branch;
    @Option(names = "--threshold", description = "fbcache/teacache/adaptive-delta: the change under which a row skips blocks (default 0.1; 0 computes every step)")
    Double threshold;
    @Option(names = "--max-skips", description = "adaptive-delta: at most this many reuses in a row for an image and guidance branch (default 1)")
    Integer maxSkips;
    @Option(names = "--cache-config", description = "a policy file (dit generate --cache-config) instead of the flags above")
    Path config;

    CacheSpec spec() {
        return org.deltadit.pipeline.PolicyFile.fromFlags(config, cache, b, interval, cachedBlocks, range, speedup, reverse, gateStep, branch, threshold, maxSkips);
    }
}
