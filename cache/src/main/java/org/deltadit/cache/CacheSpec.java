package org.deltadit.cache;

import static org.deltadit.engine.InvalidParameter.require;

import java.util.Locale;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.weights.ModelConfig;
import org.deltadit.weights.PixArtConfig;

/**
 * A cache policy as a request names it, before the run's steps and model are known: either a policy
 * already built ({@link Fixed}) or a kind with optional parameters whose defaults depend on the run
 * ({@link Named}: b = round(0.6·T), N_c = ⌈0.75·depth⌉, …). {@link #resolve} makes the policy.
 */
public sealed interface CacheSpec extends java.io.Serializable { // serialisable: a cluster ships it to its executors
    /** The kinds {@link Named} accepts. */
    String KINDS = "none, delta-dit, delta-cache, forecast, faster-diffusion, skip, tgate, deepcache, fbcache, teacache, adaptive-delta, magcache (a tuned policy file)";

    /** No caching. */
    CacheSpec NONE = new Fixed(new CachePolicy.None());

    /** Whether this spec means no caching. */
    default boolean isNone() {
        return this instanceof Fixed f ? f.policy() instanceof CachePolicy.None : ((Named) this).kind().equals("none");
    }

    /** The policy for a run of {@code steps} steps on {@code c} with {@code branches} guidance branches (for a target speedup). */
    CachePolicy resolve(int steps, ModelConfig c, int branches);

    /** A policy built by the caller; resolve checks it against the run. */
    record Fixed(CachePolicy policy) implements CacheSpec {
        public Fixed {
            java.util.Objects.requireNonNull(policy, "policy");
        }

        public CachePolicy resolve(int steps, ModelConfig c, int branches) {
            if (policy instanceof CachePolicy.TGate) requireCrossAttention(c);
            policy.check(steps, c.depth());
            return policy;
        }
    }

    /**
     * A policy by kind; null parameters take their defaults. Parameters that do not apply to the kind
     * are refused when the spec is built: b, interval, cachedBlocks (Δ-DiT's N_c, Faster Diffusion's I),
     * range ("I:J" or shallow, middle, deep), speedup (Δ-DiT: solves N and N_c), reverse, gateStep (T-GATE).
     */
    record Named(String kind, Integer b, Integer interval, Integer cachedBlocks, String range, Double speedup, boolean reverse, Integer gateStep)
            implements CacheSpec {
        public Named {
            require(kind != null, "cache", "no kind (" + KINDS + ")");
            kind = kind.trim().toLowerCase(Locale.ROOT);
            switch (kind) {
                case "none" -> only(kind, b, interval, cachedBlocks, range, speedup, reverse, gateStep);
                case "delta-dit" -> {
                    only(kind, null, null, null, range, null, false, gateStep);
                    if (speedup != null && (interval != null || cachedBlocks != null)) {
                        throw new InvalidParameter("speedup", "solves interval and cachedBlocks; give one or the other");
                    }
                }
                case "delta-cache", "forecast", "skip" -> only(kind, b, null, cachedBlocks, null, speedup, reverse, gateStep);
                case "faster-diffusion" -> only(kind, b, null, null, range, speedup, reverse, gateStep);
                case "tgate" -> only(kind, b, interval, cachedBlocks, range, speedup, reverse, null);
                case "deepcache" -> only(kind, b, null, cachedBlocks, null, speedup, reverse, gateStep);
                default -> throw new InvalidParameter("cache", "unknown policy '" + kind + "' (" + KINDS + ")");
            }
            if (range != null && !(kind.equals("deepcache") && range.matches("branch\\d+"))) parseRange(range, 28); // the syntax now; the bounds against the model at resolve
        }

        /** A kind with every parameter at its default. */
        public static Named of(String kind) { return new Named(kind, null, null, null, null, null, false, null); }

        public CachePolicy resolve(int steps, ModelConfig c, int branches) {
            int depth = c.depth();
            int n = interval != null ? interval : CachePolicy.DEFAULT_INTERVAL;
            CachePolicy p = switch (kind) {
                case "none" -> new CachePolicy.None();
                case "delta-dit" -> {
                    int bb = b != null ? b : CachePolicy.DeltaDit.defaultB(steps);
                    yield speedup != null ? BudgetSolver.solve(speedup, steps, bb, reverse, c, branches)
                            : new CachePolicy.DeltaDit(bb, n, cachedBlocks != null ? cachedBlocks : CachePolicy.DeltaDit.defaultCachedBlocks(depth), reverse);
                }
                case "delta-cache", "forecast", "skip" -> {
                    int[] r = parseRange(range == null ? "middle" : range, depth);
                    yield switch (kind) {
                        case "skip" -> new CachePolicy.Skip(r[0], r[1], n);
                        case "forecast" -> new CachePolicy.Forecast(r[0], r[1], n);
                        default -> new CachePolicy.DeltaCache(r[0], r[1], n);
                    };
                }
                case "deepcache" -> {
                    // a U-Net's DeepCache: "branchK" (default branch0) or an explicit span I:J of its blocks
                    if (!(c instanceof org.deltadit.weights.UNetConfig u)) throw new InvalidParameter("cache", "deepcache caches a U-Net's deep branch; " + c.archName() + " is not a U-Net");
                    String r = range == null ? "branch0" : range;
                    int[] span = r.matches("branch\\d+") ? UNetMacs.deepCacheBlocks(u, Integer.parseInt(r.substring(6))) : parseRange(r, depth);
                    yield new CachePolicy.DeepCache(span[0], span[1], n);
                }
                case "faster-diffusion" -> new CachePolicy.FasterDiffusion(cachedBlocks != null ? cachedBlocks : CachePolicy.DeltaDit.defaultCachedBlocks(depth), n);
                case "tgate" -> {
                    requireCrossAttention(c);
                    yield gateStep != null ? new CachePolicy.TGate(gateStep) : CachePolicy.TGate.defaults(steps);
                }
                default -> throw new IllegalStateException(kind);
            };
            p.check(steps, depth);
            return p;
        }

        /** Refuses the parameters given (non-null, or true) that {@code kind} does not take. */
        private static void only(String kind, Integer b, Integer interval, Integer cachedBlocks, String range, Double speedup, boolean reverse, Integer gateStep) {
            Object[][] given = {{"b", b}, {"interval", interval}, {"cachedBlocks", cachedBlocks}, {"range", range}, {"speedup", speedup},
                {"reverse", reverse ? true : null}, {"gateStep", gateStep}};
            for (Object[] g : given) {
                if (g[1] != null) {
                    throw new InvalidParameter((String) g[0], kind.equals("none") ? "needs a cache policy; the cache is none" : "does not apply to cache " + kind);
                }
            }
        }
    }

    private static void requireCrossAttention(ModelConfig c) {
        if (!(c instanceof PixArtConfig)) throw new InvalidParameter("cache", "tgate caches cross-attention: it needs a PixArt model, not " + c.archName());
    }

    /** "I:J", or a preset scaled to the depth as ⌈fraction⌉: shallow [0,21), middle [3,24), deep [7,28) of 28. */
    public static int[] parseRange(String s, int depth) {
        switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "shallow" -> { return new int[] {0, scaled(21, depth)}; }
            case "middle" -> { return new int[] {scaled(3, depth), scaled(24, depth)}; }
            case "deep" -> { return new int[] {scaled(7, depth), depth}; }
            default -> {
                String[] p = s.split(":", -1);
                try {
                    if (p.length == 2) return new int[] {Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim())};
                } catch (NumberFormatException e) {
                    // fall through to the message below
                }
                throw new InvalidParameter("range", "'" + s + "' is not I:J, shallow, middle or deep");
            }
        }
    }

    /** The span [from, to) of {@code blocks} blocks at the front ("shallow"), centre ("middle") or rear ("deep") of a stack of {@code depth}. */
    public static int[] span(String place, int blocks, int depth) {
        int from = switch (place) {
            case "shallow" -> 0;
            case "middle" -> (depth - blocks) / 2;
            case "deep" -> depth - blocks;
            default -> throw new IllegalArgumentException("span: '" + place + "' (shallow, middle or deep)");
        };
        return new int[] {from, from + blocks};
    }

    /** The fixed Δ-Cache range named {@code name} (shallow, middle, deep or I:J) on {@code depth} blocks. */
    public static CachePolicy.DeltaCache deltaCache(String name, int depth) {
        int[] r = parseRange(name, depth);
        return new CachePolicy.DeltaCache(r[0], r[1], CachePolicy.DEFAULT_INTERVAL);
    }

    private static int scaled(int of28, int depth) { return (int) Math.ceil(of28 * depth / 28.0); }
}
