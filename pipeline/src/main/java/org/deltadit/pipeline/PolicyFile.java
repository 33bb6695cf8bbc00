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

    static final Set<String> FIELDS = Set.of("kind", "b", "interval", "cached_blocks", "range", "speedup", "reverse", "gate_step", "note");

    /** The policy in {@code file}. */
    public static CacheSpec read(Path file) {
        return parse(Json.readObject(file), file + ": ");
    }

    /** The policy an object describes; {@code where} prefixes parameter names in messages ("cache." or a file). */
    public static CacheSpec parse(Map<String, Object> o, String where) {
        for (String k : o.keySet()) if (!FIELDS.contains(k)) throw new InvalidParameter(where + k, "unknown field (" + String.join(", ", new TreeSet<>(FIELDS)) + ")");
        Object kind = o.get("kind");
        if (!(kind instanceof String s)) throw new InvalidParameter(where + "kind", kind == null ? "missing (" + CacheSpec.KINDS + ")" : "is not a string");
        return new CacheSpec.Named(s, integer(o, "b", where), integer(o, "interval", where), integer(o, "cached_blocks", where), string(o, "range", where),
                number(o, "speedup", where), Boolean.TRUE.equals(typed(o, "reverse", Boolean.class, "true or false", where)), integer(o, "gate_step", where));
    }

    private static Object typed(Map<String, Object> o, String k, Class<?> type, String wanted, String where) {
        Object v = o.get(k);
        if (v != null && !type.isInstance(v)) throw new InvalidParameter(where + k, "is " + (v instanceof String ? "a string" : v.toString()) + ", not " + wanted);
        return v;
    }

    private static Integer integer(Map<String, Object> o, String k, String where) {
        Long v = (Long) typed(o, k, Long.class, "an integer", where);
        if (v == null) return null;
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new InvalidParameter(where + k, v + " is out of range");
        return (int) (long) v;
    }

    private static String string(Map<String, Object> o, String k, String where) { return (String) typed(o, k, String.class, "a string", where); }

    private static Double number(Map<String, Object> o, String k, String where) {
        Number v = (Number) typed(o, k, Number.class, "a number", where);
        return v == null ? null : v.doubleValue();
    }
}
