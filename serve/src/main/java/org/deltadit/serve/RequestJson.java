package org.deltadit.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.deltadit.cache.CacheSpec;
import org.deltadit.engine.InvalidParameter;
import org.deltadit.pipeline.GenerationRequest;
import org.deltadit.pipeline.JsonFields;
import org.deltadit.sampler.Thresholding;

/**
 * The JSON body of POST /api/generate → the model's name and a {@link GenerationRequest}. Field names
 * are the request's in snake_case ("class" or "classes", "prompt" or "prompts", "cache" as a kind or
 * an object {kind, b, interval, cached_blocks, range, speedup, reverse, gate_step}). Unknown fields and
 * wrong types are errors that name the field; library errors are renamed to the JSON field names.
 */
final class RequestJson {
    private RequestJson() {}

    record Parsed(String model, GenerationRequest request) {}

    private static final Set<String> FIELDS = Set.of("model", "class", "classes", "prompt", "prompts", "negative_prompt", "seed", "count", "batch", "steps",
            "sampler", "spacing", "cfg", "guide_channels", "eta", "clip_sample",
            "dynamic_thresholding_ratio", "sample_max_value", "cache", "cache_bf16");

    static Parsed parse(Map<String, Object> j) {
        for (String k : j.keySet()) if (!FIELDS.contains(k)) throw new InvalidParameter(k, "unknown field (" + String.join(", ", new java.util.TreeSet<>(FIELDS)) + ")");
        String model = string(j, "model");
        if (model == null) throw new InvalidParameter("model", "missing: name one of the served models (GET /api/models)");
        if (j.containsKey("class") && j.containsKey("classes")) throw new InvalidParameter("class", "give class or classes, not both");
        if (j.containsKey("prompt") && j.containsKey("prompts")) throw new InvalidParameter("prompt", "give prompt or prompts, not both");
        List<Integer> classes = j.containsKey("class") ? List.of(integer(j, "class")) : intList(j, "classes");
        List<String> prompts = j.containsKey("prompt") ? List.of(string(j, "prompt")) : stringList(j, "prompts");
        Long seed = j.get("seed") == null ? 0L : (Long) JsonFields.typed(j, "", "seed", Long.class, "an integer");
        GenerationRequest r = GenerationRequest.builder().classes(classes).prompts(prompts).negativePrompt(string(j, "negative_prompt"))
                .seed(seed).count(integer(j, "count")).batch(integer(j, "batch")).steps(integer(j, "steps"))
                .sampler(string(j, "sampler")).spacing(string(j, "spacing")).cfg(number(j, "cfg")).guideChannels(integer(j, "guide_channels"))
                .eta(number(j, "eta")).clipSample(number(j, "clip_sample")).thresholding(thresholding(j)).cache(cache(j.get("cache"))).cacheBf16(JsonFields.flag(j, "", "cache_bf16"))
                .build();
        return new Parsed(model, r);
    }

    /** diffusers' scheduler fields: dynamic_thresholding_ratio turns thresholding on, sample_max_value (default 1) goes with it. */
    private static Thresholding thresholding(Map<String, Object> j) {
        Double ratio = number(j, "dynamic_thresholding_ratio"), max = number(j, "sample_max_value");
        if (ratio == null && max != null) throw new InvalidParameter("sample_max_value", "goes with dynamic_thresholding_ratio, which turns thresholding on");
        return ratio == null ? null : new Thresholding(ratio, max == null ? 1 : max);
    }

    private static CacheSpec cache(Object v) {
        if (v == null) return CacheSpec.NONE;
        if (v instanceof String s) return CacheSpec.Named.of(s);
        if (!(v instanceof Map<?, ?> raw)) throw new InvalidParameter("cache", "is " + JsonFields.what(v) + ", not a policy name or an object");
        @SuppressWarnings("unchecked") Map<String, Object> c = (Map<String, Object>) raw;
        return org.deltadit.pipeline.PolicyFile.parse(c, "cache.");
    }

    /** A library parameter name as the JSON field a client sent ("cachedBlocks" → "cached_blocks"). */
    static String field(String parameter) {
        return switch (parameter) {
            case "gate", "gateStep" -> "cache.gate_step";
            case "block", "cachedBlocks" -> "cache.cached_blocks";
            case "b", "interval", "range", "speedup", "reverse" -> "cache." + parameter;
            case "thresholding" -> "dynamic_thresholding_ratio";
            case "decode", "keepLatents", "noise", "textEmbeddings" -> parameter; // not settable here; named as they are
            default -> parameter.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
        };
    }

    private static String string(Map<String, Object> j, String k) { return JsonFields.string(j, "", k); }

    private static Integer integer(Map<String, Object> j, String k) { return JsonFields.integer(j, "", k); }

    private static Double number(Map<String, Object> j, String k) { return JsonFields.number(j, "", k); }

    private static List<?> list(Map<String, Object> j, String k, String wanted) { return (List<?>) JsonFields.typed(j, "", k, List.class, wanted); }

    private static List<Integer> intList(Map<String, Object> j, String k) {
        List<?> l = list(j, k, "a list of integers");
        if (l == null) return null;
        List<Integer> out = new ArrayList<>();
        for (Object o : l) {
            if (!(o instanceof Long x) || x < 0 || x > Integer.MAX_VALUE) throw new InvalidParameter(k, "holds " + JsonFields.what(o) + ", not only class numbers");
            out.add((int) (long) x);
        }
        return out;
    }

    private static List<String> stringList(Map<String, Object> j, String k) {
        List<?> l = list(j, k, "a list of strings");
        if (l == null) return null;
        List<String> out = new ArrayList<>();
        for (Object o : l) {
            if (!(o instanceof String s)) throw new InvalidParameter(k, "holds " + JsonFields.what(o) + ", not only strings");
            out.add(s);
        }
        return out;
    }
}
