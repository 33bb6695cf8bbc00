package org.deltadit.pipeline;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.deltadit.cache.CacheSpec;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.weights.Json;

/**
 * A cache policy as a JSON object — the `cache` object of `dit serve`'s API, and the file
 * `dit generate --cache-config FILE` and `bench compare --cache-config FILE` read (the format `dit tune`
 * is to write): {"kind": "delta-dit", "b": 12, "interval": 2, "cached_blocks": 21} with the fields
 * kind, b, interval, cached_blocks, range, speedup, reverse, gate_step, and an optional "note".
 */
public final class PolicyFile {
    private PolicyFile() {}

    static final Set<String> FIELDS = Set.of("kind", "b", "interval", "cached_blocks", "range", "speedup", "reverse", "gate_step", "threshold", "coefficients", "max_skips", "ratios", "forecast", "note");

    /**
     * The policy of a {@code --cache-config} file, else of the cache flags (built by {@code flags});
     * a file and flags at once is an error naming {@code --cache-config}.
     */
    public static CacheSpec fileOrFlags(Path config, boolean flagsGiven, java.util.function.Supplier<CacheSpec> flags) {
        if (config == null) return flags.get();
        if (flagsGiven) {
            throw new IllegalArgumentException("--cache-config: the file gives the policy; drop --cache, --b, --interval, --cached-blocks, --range, --speedup, --reverse, --gate-step, --threshold and --max-skips");
        }
        if (!java.nio.file.Files.isRegularFile(config)) throw new IllegalArgumentException("--cache-config: " + config + ": no such file");
        return read(config);
    }

    /**
     * The policy of the cache flags every front end shares (--cache, --b, --interval, --cached-blocks,
     * --range/--unet-span, --speedup, --reverse, --gate-step, --branch, --threshold, --max-skips), or of a --cache-config file
     * instead; the flags' meaning is {@link CacheSpec.Named}'s. {@code branch} names DeepCache's span.
     */
    public static CacheSpec fromFlags(Path config, String cache, Integer b, Integer interval, Integer cachedBlocks, String range, Double speedup,
                                      boolean reverse, Integer gateStep, Integer branch, Double threshold, Integer maxSkips) {
        boolean flags = !cache.equals("none") || b != null || interval != null || cachedBlocks != null || range != null || speedup != null || reverse || gateStep != null || branch != null
                || threshold != null || maxSkips != null;
        String kind = cache.trim().toLowerCase(java.util.Locale.ROOT);
        if (maxSkips != null && !(kind.equals("adaptive-delta") && config == null)) throw new IllegalArgumentException("--max-skips: applies to --cache adaptive-delta");
        if ((kind.equals("fbcache") || kind.equals("teacache")) && config == null) {
            if (b != null || interval != null || cachedBlocks != null || range != null || speedup != null || reverse || gateStep != null || branch != null) {
                throw new IllegalArgumentException("--cache " + kind + ": decides at run time from --threshold; drop --b, --interval, --cached-blocks, --range, --speedup, --reverse, --gate-step and --branch");
            }
            return rowPolicy(kind, threshold, null);
        }
        if (kind.equals("adaptive-delta") && config == null) {
            if (interval != null || range != null || speedup != null || reverse || gateStep != null || branch != null) {
                throw new IllegalArgumentException("--cache adaptive-delta: decides at run time from --b, --cached-blocks, --threshold and --max-skips; drop --interval, --range, --speedup, --reverse, --gate-step and --branch");
            }
            return adaptive(b, cachedBlocks, threshold, maxSkips, null);
        }
        if (threshold != null && config == null) throw new IllegalArgumentException("--threshold: applies to --cache fbcache, teacache and adaptive-delta");
        if (branch != null && !cache.trim().equalsIgnoreCase("deepcache")) throw new IllegalArgumentException("--branch: applies to --cache deepcache");
        if (branch != null && range != null) throw new IllegalArgumentException("--branch and --range: give one (the branch names DeepCache's span)");
        String r = branch != null ? "branch" + branch : range;
        return fileOrFlags(config, flags, () -> new CacheSpec.Named(cache, b, interval, cachedBlocks, r, speedup, reverse, gateStep));
    }

    /** A list of numbers field (null when absent). */
    private static double[] numbers(Map<String, Object> o, String where, String key) {
        if (!o.containsKey(key)) return null;
        if (!(o.get(key) instanceof java.util.List<?> l)) throw new InvalidParameter(where + key, "is not a list of numbers");
        double[] out = new double[l.size()];
        for (int i = 0; i < l.size(); i++) {
            if (!(l.get(i) instanceof Number n)) throw new InvalidParameter(where + key, "holds " + l.get(i) + ", not a number");
            out[i] = n.doubleValue();
        }
        return out;
    }

    /** First-Block Cache or TeaCache at {@code threshold} (default 0.1); TeaCache's polynomial defaults to [1, 0] (uncalibrated). */
    private static CacheSpec rowPolicy(String kind, Double threshold, double[] coefficients) {
        double t = threshold != null ? threshold : 0.1;
        return new CacheSpec.Fixed(kind.equals("fbcache") ? new org.deltadit.cache.CachePolicy.FirstBlock(t)
                : new org.deltadit.cache.CachePolicy.TeaCache(t, coefficients != null ? coefficients : new double[] {1, 0}));
    }

    /**
     * Our stage-aligned adaptive Δ-Cache; absent fields: b and N_c as Δ-DiT's defaults, threshold 0.1, one reuse in a
     * row, with the forecast (closer to full compute than plain reuse in all 16 settings dit tune tried on the demo model).
     */
    private static CacheSpec adaptive(Integer b, Integer cachedBlocks, Double threshold, Integer maxSkips, Boolean forecast) {
        return new CacheSpec.Fixed(new org.deltadit.cache.CachePolicy.AdaptiveDelta(b != null ? b : -1, cachedBlocks != null ? cachedBlocks : -1,
                threshold != null ? threshold : 0.1, maxSkips != null ? maxSkips : 1, forecast == null || forecast));
    }

    /** The policy in {@code file}. */
    public static CacheSpec read(Path file) {
        return parse(Json.readObject(file), file + ": ");
    }

    /** The policy an object describes; {@code where} prefixes parameter names in messages ("cache." or a file). */
    public static CacheSpec parse(Map<String, Object> o, String where) {
        for (String k : o.keySet()) if (!FIELDS.contains(k)) throw new InvalidParameter(where + k, "unknown field (" + String.join(", ", new TreeSet<>(FIELDS)) + ")");
        String s = JsonFields.string(o, where, "kind");
        if (s == null) throw new InvalidParameter(where + "kind", "missing (" + CacheSpec.KINDS + ")");
        Double threshold = JsonFields.number(o, where, "threshold");
        String kind = s.trim().toLowerCase(java.util.Locale.ROOT);
        if (kind.equals("magcache")) {
            for (String k : o.keySet()) if (!java.util.Set.of("kind", "threshold", "max_skips", "ratios", "note").contains(k)) throw new InvalidParameter(where + k, "does not apply to magcache (threshold, max_skips, ratios)");
            Integer k = JsonFields.integer(o, where, "max_skips");
            return new CacheSpec.Fixed(new org.deltadit.cache.CachePolicy.MagCache(threshold != null ? threshold : 0.1, k != null ? k : 2, numbers(o, where, "ratios")));
        }
        if (kind.equals("fbcache") || kind.equals("teacache")) {
            for (String k : o.keySet()) {
                if (!k.equals("kind") && !k.equals("threshold") && !k.equals("note") && !(kind.equals("teacache") && k.equals("coefficients"))) {
                    throw new InvalidParameter(where + k, "does not apply to " + kind + " (threshold" + (kind.equals("teacache") ? ", coefficients" : "") + ")");
                }
            }
            return rowPolicy(kind, threshold, o.containsKey("coefficients") ? numbers(o, where, "coefficients") : null);
        }
        if (kind.equals("adaptive-delta")) {
            for (String k : o.keySet()) if (!java.util.Set.of("kind", "b", "cached_blocks", "threshold", "max_skips", "forecast", "note").contains(k)) throw new InvalidParameter(where + k, "does not apply to adaptive-delta (b, cached_blocks, threshold, max_skips, forecast)");
            return adaptive(JsonFields.integer(o, where, "b"), JsonFields.integer(o, where, "cached_blocks"), threshold, JsonFields.integer(o, where, "max_skips"),
                    o.containsKey("forecast") ? JsonFields.flag(o, where, "forecast") : null);
        }
        if (threshold != null) throw new InvalidParameter(where + "threshold", "applies to fbcache, teacache and adaptive-delta");
        return new CacheSpec.Named(s, JsonFields.integer(o, where, "b"), JsonFields.integer(o, where, "interval"), JsonFields.integer(o, where, "cached_blocks"),
                JsonFields.string(o, where, "range"), JsonFields.number(o, where, "speedup"), JsonFields.flag(o, where, "reverse"), JsonFields.integer(o, where, "gate_step"));
    }
}
