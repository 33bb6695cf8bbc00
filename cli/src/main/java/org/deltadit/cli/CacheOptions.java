package org.deltadit.cli;

import org.deltadit.cache.CacheSpec;
import picocli.CommandLine.Option;

/** The cache options of {@code dit generate} and {@code dit plan} (DESIGN.md §6), as a {@link CacheSpec}. */
final class CacheOptions {
    @Option(names = "--cache", defaultValue = "none", description = "none, delta-dit, delta-cache, forecast (Δ-Cache with a first-order forecast of Δ), faster-diffusion, skip, tgate (PixArt), deepcache (U-Net), fbcache, teacache, adaptive-delta (decided at run time per row) (default: ${DEFAULT-VALUE})")
    String cache;
    @Option(names = "--gate-step", description = "T-GATE: the last step that attends to the caption (default: round(0.4·T), 8 of 20)")
    Integer gateStep;
    @Option(names = "--b", description = "Δ-DiT stage boundary: rear blocks cached while step ≤ b (default: round(0.6·T), 12 of 20)")
    Integer b;
    @Option(names = "--interval", description = "N: a full step every N steps (default 2)")
    Integer interval;
    @Option(names = "--cached-blocks", description = "Δ-DiT: N_c blocks cached (default ⌈0.75·depth⌉, 21 of 28); faster-diffusion: I, the first block run")
    Integer cachedBlocks;
    @Option(names = {"--range", "--unet-span"}, description = "I:J (0-based, half-open) or shallow, middle, deep (the paper's 1–21, 4–24, 8–28 of 28); for a U-Net, blocks in execution order (dit plan --arch SD1.5)")
    String range;
    @Option(names = "--speedup", description = "Δ-DiT: target MAC speedup; N and N_c are solved (paper eq. 6–7)")
    Double speedup;
    @Option(names = "--reverse", description = "Δ-DiT reversed: front blocks cached early, rear blocks late (paper Table 5)")
    boolean reverse;
    @Option(names = "--cache-bf16", description = "store the deltas in BF16 (half the memory)")
    boolean bf16;
    @Option(names = "--branch", description = "deepcache (SD 1.x U-Net): the skip of the first level whose deep side is cached (default 0)")
    Integer branch;
    @Option(names = "--threshold", description = "fbcache/teacache/adaptive-delta: the change (block 0's residual / the summed change of its modulated input / the stage's signal) under which a row skips blocks (default 0.1; 0 computes every step)")
    Double threshold;
    @Option(names = "--max-skips", description = "adaptive-delta: at most this many reuses in a row for an image and guidance branch (default 1)")
    Integer maxSkips;
    @Option(names = "--cache-config", description = "a policy file (JSON: kind, b, interval, cached_blocks, range, speedup, reverse, gate_step) instead of the options above")
    java.nio.file.Path config;

    CacheSpec spec() {
        return org.deltadit.pipeline.PolicyFile.fromFlags(config, cache, b, interval, cachedBlocks, range, speedup, reverse, gateStep, branch, threshold, maxSkips);
    }
}
