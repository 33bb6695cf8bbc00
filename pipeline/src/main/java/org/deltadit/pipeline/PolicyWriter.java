package org.deltadit.pipeline;

import java.nio.file.Path;
import java.util.Locale;
import org.deltadit.cache.CachePolicy;
import org.deltadit.weights.AtomicFiles;
import org.deltadit.weights.Json;

/** A cache policy as the policy file {@link PolicyFile} reads (what `dit tune --out` writes); {@code note} says where it came from. */
public final class PolicyWriter {
    private PolicyWriter() {}

    /** The JSON object of {@code p}; the policies a file cannot name (T-GATE's defaults aside) are an IllegalArgumentException. */
    public static String json(CachePolicy p, String note) {
        String body = switch (p) {
            case CachePolicy.None n -> "\"kind\": \"none\"";
            case CachePolicy.DeltaDit d -> String.format(Locale.ROOT, "\"kind\": \"delta-dit\", \"b\": %d, \"interval\": %d, \"cached_blocks\": %d, \"reverse\": %b",
                    d.b(), d.interval(), d.cachedBlocks(), d.reverse());
            case CachePolicy.DeltaCache d -> String.format(Locale.ROOT, "\"kind\": \"delta-cache\", \"interval\": %d, \"range\": \"%d:%d\"", d.interval(), d.from(), d.to());
            case CachePolicy.Forecast f -> String.format(Locale.ROOT, "\"kind\": \"forecast\", \"interval\": %d, \"range\": \"%d:%d\"", f.interval(), f.from(), f.to());
            case CachePolicy.Skip s -> String.format(Locale.ROOT, "\"kind\": \"skip\", \"interval\": %d, \"range\": \"%d:%d\"", s.interval(), s.from(), s.to());
            case CachePolicy.DeepCache d -> String.format(Locale.ROOT, "\"kind\": \"deepcache\", \"interval\": %d, \"range\": \"%d:%d\"", d.interval(), d.from(), d.to());
            case CachePolicy.FasterDiffusion f -> String.format(Locale.ROOT, "\"kind\": \"faster-diffusion\", \"interval\": %d, \"cached_blocks\": %d", f.interval(), f.block());
            case CachePolicy.TGate t -> String.format(Locale.ROOT, "\"kind\": \"tgate\", \"gate_step\": %d", t.gate());
            case CachePolicy.FirstBlock f -> String.format(Locale.ROOT, "\"kind\": \"fbcache\", \"threshold\": %s", f.threshold());
            case CachePolicy.TeaCache t -> String.format(Locale.ROOT, "\"kind\": \"teacache\", \"threshold\": %s, \"coefficients\": %s", t.threshold(),
                    java.util.Arrays.toString(t.coefficients()));
            // b and N_c left out where they are Δ-DiT's defaults for the run (−1): a file is read back the same
            case CachePolicy.AdaptiveDelta a -> String.format(Locale.ROOT, "\"kind\": \"adaptive-delta\", %s%s\"threshold\": %s, \"max_skips\": %d, \"forecast\": %b",
                    a.b() >= 0 ? "\"b\": " + a.b() + ", " : "", a.cachedBlocks() >= 1 ? "\"cached_blocks\": " + a.cachedBlocks() + ", " : "", a.threshold(), a.maxSkips(), a.forecast());
            case CachePolicy.MagCache m -> String.format(Locale.ROOT, "\"kind\": \"magcache\", \"threshold\": %s, \"max_skips\": %d, \"ratios\": %s", m.threshold(), m.maxSkips(),
                    java.util.Arrays.toString(m.ratios()));
        };
        return "{" + body + (note == null ? "" : ", \"note\": " + Json.quote(note)) + "}\n";
    }

    /** Writes {@code p} to {@code file} atomically. */
    public static void write(Path file, CachePolicy p, String note) {
        byte[] bytes = json(p, note).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> out.write(bytes));
    }
}
