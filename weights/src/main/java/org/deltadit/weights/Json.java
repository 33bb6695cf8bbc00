package org.deltadit.weights;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/** Small JSON files (configs, shard indexes) as maps, lists, strings, longs, doubles, booleans and null. */
public final class Json {
    private static final JsonFactory JSON = new JsonFactory();
    /** Configs and indexes are kilobytes; anything this large is not one. */
    private static final long MAX_BYTES = 64L << 20;
    private static final int MAX_DEPTH = 64;

    private Json() {}

    /** Parses {@code file}, which must hold a JSON object. */
    public static Map<String, Object> readObject(Path file) {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_BYTES) throw new CheckpointException(file + ": " + Files.size(file) + " bytes is too large for a JSON config");
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        return parseObject(file.toString(), bytes);
    }

    /** Parses {@code bytes}, which must hold a JSON object; {@code src} names them in messages. */
    public static Map<String, Object> parseObject(String src, byte[] bytes) {
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), bytes)) {
            Object v = value(src, p, p.nextToken(), 0);
            if (p.nextToken() != null) throw new CheckpointException(src + ": trailing data after the JSON value");
            if (!(v instanceof Map<?, ?>)) throw new CheckpointException(src + ": not a JSON object");
            @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) v;
            return m;
        } catch (JacksonException e) {
            throw new CheckpointException(src + ": not valid JSON (" + Safetensors.firstLine(e.getOriginalMessage()) + ")", e);
        }
    }

    /** A JSON string literal of {@code s}, quotes included. */
    public static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    /** {@code v} (what {@link #parseObject} returns: maps, lists, strings, numbers, booleans, null) as JSON, one entry per line. */
    public static String write(Object v) {
        StringBuilder b = new StringBuilder();
        write(b, v, "");
        return b.append('\n').toString();
    }

    private static void write(StringBuilder b, Object v, String indent) {
        String in = indent + " ";
        if (v instanceof Map<?, ?> m) {
            b.append('{');
            int i = 0;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                b.append(i++ > 0 ? ",\n" : "\n").append(in).append(quote(String.valueOf(e.getKey()))).append(": ");
                write(b, e.getValue(), in);
            }
            b.append(m.isEmpty() ? "}" : "\n" + indent + "}");
        } else if (v instanceof List<?> l) {
            b.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) b.append(", ");
                write(b, l.get(i), in);
            }
            b.append(']');
        } else if (v instanceof String s) {
            b.append(quote(s));
        } else if (v == null || v instanceof Boolean || v instanceof Long || v instanceof Integer) {
            b.append(v);
        } else if (v instanceof Number n && Double.isFinite(n.doubleValue())) {
            b.append(n.doubleValue());
        } else {
            throw new IllegalArgumentException("json: cannot write " + v);
        }
    }

    private static Object value(String file, JsonParser p, JsonToken t, int depth) {
        if (t == null) throw new CheckpointException(file + ": empty JSON");
        if (depth > MAX_DEPTH) throw new CheckpointException(file + ": JSON nested deeper than " + MAX_DEPTH);
        return switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                for (JsonToken k = p.nextToken(); k != JsonToken.END_OBJECT; k = p.nextToken()) {
                    String name = p.currentName();
                    m.put(name, value(file, p, p.nextToken(), depth + 1));
                }
                yield m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                for (JsonToken v = p.nextToken(); v != JsonToken.END_ARRAY; v = p.nextToken()) l.add(value(file, p, v, depth + 1));
                yield l;
            }
            case VALUE_STRING -> p.getString();
            case VALUE_NUMBER_INT -> p.getLongValue();
            case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            case VALUE_TRUE -> true;
            case VALUE_FALSE -> false;
            case VALUE_NULL -> null;
            default -> throw new CheckpointException(file + ": unexpected JSON token " + t);
        };
    }
}
