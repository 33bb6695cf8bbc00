package org.deltadit.weights;

import java.util.List;
import java.util.Map;

/**
 * Typed reads of config.json fields, the same for every model: a field that is absent takes its
 * default, one of the wrong type or range is a {@link CheckpointException} that names the config
 * file, the field, and what was found ("is a string ("32"), not an integer").
 */
public final class ConfigFields {
    private ConfigFields() {}

    /** A non-negative integer field. */
    public static Integer integer(String src, Map<String, Object> c, String key, Integer dflt) {
        Object v = c.get(key);
        if (v == null) return dflt;
        if (!(v instanceof Long l)) throw wrong(src, key, v, "a non-negative integer");
        if (l < 0 || l > Integer.MAX_VALUE) throw new CheckpointException(src + ": config field '" + key + "' is " + l + ", not a non-negative integer");
        return (int) (long) l;
    }

    /** A positive integer field. */
    public static Integer positive(String src, Map<String, Object> c, String key, Integer dflt) {
        Integer v = integer(src, c, key, dflt);
        if (v != null && v == 0 && c.containsKey(key)) throw new CheckpointException(src + ": config field '" + key + "' is 0, not a positive integer");
        return v;
    }

    /** A finite number field (an integer is accepted as a number). */
    public static Double number(String src, Map<String, Object> c, String key, Double dflt) {
        Object v = c.get(key);
        if (v == null) return dflt;
        if (!(v instanceof Number n) || !Double.isFinite(n.doubleValue())) throw wrong(src, key, v, "a number");
        return n.doubleValue();
    }

    /** A true/false field. */
    public static Boolean bool(String src, Map<String, Object> c, String key) {
        Object v = c.get(key);
        if (v == null) return null;
        if (!(v instanceof Boolean b)) throw wrong(src, key, v, "true or false");
        return b;
    }

    /** A string field. */
    public static String string(String src, Map<String, Object> c, String key) {
        Object v = c.get(key);
        if (v == null) return null;
        if (!(v instanceof String s)) throw wrong(src, key, v, "a string");
        return s;
    }

    /** A non-empty list of positive integers. */
    public static int[] positiveList(String src, Map<String, Object> c, String key, int[] dflt) {
        Object v = c.get(key);
        if (v == null) return dflt;
        if (!(v instanceof List<?> l) || l.isEmpty()) throw wrong(src, key, v, "a non-empty list of positive integers");
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(l.get(i) instanceof Long x) || x < 1 || x > Integer.MAX_VALUE) {
                throw new CheckpointException(src + ": config field '" + key + "' has " + what(l.get(i)) + " at position " + i + ", not a positive integer");
            }
            out[i] = (int) (long) x;
        }
        return out;
    }

    private static CheckpointException wrong(String src, String key, Object v, String wanted) {
        return new CheckpointException(src + ": config field '" + key + "' is " + what(v) + ", not " + wanted);
    }

    /** "a string ("32")", "a list", "true", "1.5". */
    static String what(Object v) {
        return switch (v) {
            case String s -> "a string (\"" + s + "\")";
            case List<?> l -> "a list";
            case Map<?, ?> m -> "an object";
            case Boolean b -> b.toString();
            case Long l -> l.toString();
            case Double d -> d.toString();
            default -> v.toString();
        };
    }
}
