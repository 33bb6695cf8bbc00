package org.deltadit.pipeline;

import java.util.Map;
import org.deltadit.engine.InvalidParameter;

/**
 * Typed reads of the fields of a parsed JSON object from a user (an API request, a policy file): an
 * absent field is null; one of the wrong type is an {@link InvalidParameter} named {@code prefix + key}
 * that says what was found. (Config files have their own, {@code weights.ConfigFields}: their errors
 * name the file and are checkpoint errors.)
 */
public final class JsonFields {
    private JsonFields() {}

    public static Object typed(Map<String, Object> o, String prefix, String key, Class<?> type, String wanted) {
        Object v = o.get(key);
        if (v != null && !type.isInstance(v)) throw new InvalidParameter(prefix + key, "is " + what(v) + ", not " + wanted);
        return v;
    }

    public static String string(Map<String, Object> o, String prefix, String key) { return (String) typed(o, prefix, key, String.class, "a string"); }

    public static Integer integer(Map<String, Object> o, String prefix, String key) {
        Long v = (Long) typed(o, prefix, key, Long.class, "an integer");
        if (v == null) return null;
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new InvalidParameter(prefix + key, v + " is out of range");
        return (int) (long) v;
    }

    public static Double number(Map<String, Object> o, String prefix, String key) {
        Number v = (Number) typed(o, prefix, key, Number.class, "a number");
        return v == null ? null : v.doubleValue();
    }

    /** True only for a JSON true; a non-boolean is an error. */
    public static boolean flag(Map<String, Object> o, String prefix, String key) {
        return Boolean.TRUE.equals(typed(o, prefix, key, Boolean.class, "true or false"));
    }

    /** "a string", "a list", "an object", or the value itself. */
    public static String what(Object v) {
        return switch (v) {
            case null -> "null";
            case String s -> "a string";
            case java.util.List<?> l -> "a list";
            case Map<?, ?> m -> "an object";
            default -> v.toString();
        };
    }
}
