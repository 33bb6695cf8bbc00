package org.deltadit.cli;

import java.util.Locale;
import org.deltadit.cache.BudgetSolver;
import org.deltadit.cache.CachePolicy;
import org.deltadit.weights.ModelConfig;
import org.deltadit.weights.PixArtConfig;
import picocli.CommandLine.Option;

/** The cache options of {@code dit generate} and {@code dit plan} (DESIGN.md §6), turned into a {@link CachePolicy}. */
final class CacheOptions {
    @Option(names = "--cache", defaultValue = "none", description = "none, delta-dit, delta-cache, faster-diffusion, skip, tgate (PixArt) (default: ${DEFAULT-VALUE})")
    String cache;
    @Option(names = "--gate-step", description = "T-GATE: the last step that attends to the caption (default: round(0.4·T), 8 of 20)")
    Integer gateStep;
    @Option(names = "--b", description = "Δ-DiT stage boundary: rear blocks cached while step ≤ b (default: round(0.6·T), 12 of 20)")
    Integer b;
    @Option(names = "--interval", description = "N: a full step every N steps (default 2)")
    Integer interval;
    @Option(names = "--cached-blocks", description = "Δ-DiT: N_c blocks cached (default ⌈0.75·depth⌉, 21 of 28); faster-diffusion: I, the first block run")
    Integer cachedBlocks;
    @Option(names = "--range", description = "I:J (0-based, half-open) or shallow, middle, deep (the paper's 1–21, 4–24, 8–28 of 28)")
    String range;
    @Option(names = "--speedup", description = "Δ-DiT: target MAC speedup; N and N_c are solved (paper eq. 6–7)")
    Double speedup;
    @Option(names = "--reverse", description = "Δ-DiT reversed: front blocks cached early, rear blocks late (paper Table 5)")
    boolean reverse;
    @Option(names = "--cache-bf16", description = "store the deltas in BF16 (half the memory)")
    boolean bf16;

    /** The policy for a run of {@code steps} steps on {@code c}, with {@code rows} batch rows per image (for --speedup). */
    CachePolicy policy(int steps, ModelConfig c, long rows) {
        String kind = cache.trim().toLowerCase(Locale.ROOT);
        if (gateStep != null && !kind.equals("tgate") && !kind.equals("none")) throw new IllegalArgumentException("--gate-step applies to --cache tgate");
        int depth = c.depth();
        int n = interval != null ? interval : 2;
        switch (kind) {
            case "none" -> {
                if (gateStep != null) throw new IllegalArgumentException("--gate-step needs --cache tgate");
                if (b != null || interval != null || cachedBlocks != null || range != null || speedup != null || reverse || bf16) {
                    throw new IllegalArgumentException("cache options (--b, --interval, --cached-blocks, --range, --speedup, --reverse, --cache-bf16) need a --cache policy; --cache is none");
                }
                return new CachePolicy.None();
            }
            case "delta-dit" -> {
                if (range != null) throw new IllegalArgumentException("--range applies to delta-cache and skip, not delta-dit (use --cached-blocks)");
                int bb = b != null ? b : (int) Math.round(0.6 * steps);
                if (speedup != null) {
                    if (interval != null || cachedBlocks != null) throw new IllegalArgumentException("--speedup solves --interval and --cached-blocks; give one or the other");
                    return BudgetSolver.solve(speedup, steps, bb, reverse, c, rows);
                }
                return new CachePolicy.DeltaDit(bb, n, cachedBlocks != null ? cachedBlocks : (int) Math.ceil(0.75 * depth), reverse);
            }
            case "delta-cache", "skip" -> {
                onlyFor(kind, b != null, "--b");
                onlyFor(kind, cachedBlocks != null, "--cached-blocks");
                onlyFor(kind, speedup != null, "--speedup");
                onlyFor(kind, reverse, "--reverse");
                int[] r = parseRange(range == null ? "middle" : range, depth);
                return kind.equals("skip") ? new CachePolicy.Skip(r[0], r[1], n) : new CachePolicy.DeltaCache(r[0], r[1], n);
            }
            case "faster-diffusion" -> {
                onlyFor(kind, b != null, "--b");
                onlyFor(kind, range != null, "--range");
                onlyFor(kind, speedup != null, "--speedup");
                onlyFor(kind, reverse, "--reverse");
                return new CachePolicy.FasterDiffusion(cachedBlocks != null ? cachedBlocks : (int) Math.ceil(0.75 * depth), n);
            }
            case "tgate" -> {
                if (!(c instanceof PixArtConfig)) throw new IllegalArgumentException("--cache tgate caches cross-attention: it needs a PixArt model, not " + c.archName());
                if (b != null || interval != null || cachedBlocks != null || range != null || speedup != null || reverse || bf16) {
                    throw new IllegalArgumentException("--cache tgate takes --gate-step only");
                }
                return new CachePolicy.TGate(gateStep != null ? gateStep : Math.max(1, (int) Math.round(0.4 * steps)), rows == 2);
            }
            default -> throw new IllegalArgumentException("--cache: unknown policy '" + cache + "' (none, delta-dit, delta-cache, faster-diffusion, skip, tgate)");
        }
    }

    private static void onlyFor(String kind, boolean given, String option) {
        if (given) throw new IllegalArgumentException(option + " does not apply to --cache " + kind);
    }

    /** "I:J", or a preset scaled to the depth as ⌈fraction⌉: shallow [0,21), middle [3,24), deep [7,28) of 28. */
    static int[] parseRange(String s, int depth) {
        switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "shallow" -> { return new int[] {0, scaled(21, depth)}; }
            case "middle" -> { return new int[] {scaled(3, depth), scaled(24, depth)}; }
            case "deep" -> { return new int[] {scaled(7, depth), depth}; }
            default -> {
                String[] p = s.split(":");
                try {
                    if (p.length == 2) return new int[] {Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim())};
                } catch (NumberFormatException e) {
                    // fall through to the message below
                }
                throw new IllegalArgumentException("--range: '" + s + "' is not I:J, shallow, middle or deep");
            }
        }
    }

    private static int scaled(int of28, int depth) { return (int) Math.ceil(of28 * depth / 28.0); }

    boolean bf16() { return bf16; }
}
