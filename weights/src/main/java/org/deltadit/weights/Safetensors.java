package org.deltadit.weights;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * Reads safetensors: an 8-byte little-endian header length, a JSON header mapping each name to
 * {dtype, shape, data_offsets}, then the data. The file is memory-mapped and each tensor is a view
 * of it. Every offset and size is checked against the file before anything is read, and the header
 * is parsed as a stream, so a lying header cannot make us allocate what it claims.
 */
public final class Safetensors {
    /** Headers above this are refused (real ones are well under 1 MB). */
    public static final long MAX_HEADER = 100L << 20;
    private static final int MAX_RANK = 16;
    private static final JsonFactory JSON = new JsonFactory();
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Safetensors() {}

    /** Opens one file. */
    public static StateDict open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            Map<String, TensorEntry> entries = new LinkedHashMap<>();
            long size = read(file, arena, entries);
            return new StateDict(file.toString(), entries, List.of(arena), size, Map.of());
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Maps {@code file} into {@code arena} and adds its tensors to {@code into}; returns the file size. */
    static long read(Path file, Arena arena, Map<String, TensorEntry> into) {
        return parse(file.toString(), map(file, arena), into);
    }

    /** Parses a whole safetensors file held in {@code seg}; returns its size. */
    static long parse(String src, MemorySegment seg, Map<String, TensorEntry> into) {
        long size = seg.byteSize();
        if (size < 8) throw new CheckpointException(src + ": truncated (" + size + " bytes), no header length");
        long n = seg.get(LE_LONG, 0);
        if (n < 2 || n > MAX_HEADER) throw new CheckpointException(src + ": header length " + Long.toUnsignedString(n) + " at offset 0 is not plausible (2.." + MAX_HEADER + ")");
        if (8 + n > size) throw new CheckpointException(src + ": header length " + n + " larger than the file (" + size + " bytes)");
        byte[] header = seg.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        MemorySegment data = seg.asSlice(8 + n);
        List<TensorEntry> parsed = parseHeader(src, header, data);
        checkOverlaps(src, parsed, data, 8 + n);
        for (TensorEntry e : parsed) {
            if (into.putIfAbsent(e.name(), e) != null) throw new CheckpointException(src + ": key '" + e.name() + "' appears in more than one file");
        }
        return size;
    }

    static MemorySegment map(Path file, Arena arena) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            org.deltadit.engine.MappedWeights.add(seg, file);
            return seg;
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    private record Offsets(long begin, long end) {}

    private static List<TensorEntry> parseHeader(String src, byte[] header, MemorySegment data) {
        List<TensorEntry> out = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), header)) {
            expect(src, p.nextToken(), JsonToken.START_OBJECT, "the header");
            for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                if (t != JsonToken.PROPERTY_NAME) throw new CheckpointException(src + ": header is not a JSON object of tensors");
                String name = p.currentName();
                if (!names.add(name)) throw new CheckpointException(src + ": key '" + name + "' appears twice in the header");
                if (name.equals("__metadata__")) {
                    skipStringMap(src, p);
                    continue;
                }
                out.add(parseEntry(src, name, p, data));
            }
            if (p.nextToken() != null) throw new CheckpointException(src + ": trailing data after the JSON header");
        } catch (JacksonException e) {
            throw new CheckpointException(src + ": header is not valid JSON (" + firstLine(e.getOriginalMessage()) + ")", e);
        }
        return out;
    }

    private static TensorEntry parseEntry(String src, String name, JsonParser p, MemorySegment data) {
        String where = src + ": tensor '" + name + "'";
        expect(src, p.nextToken(), JsonToken.START_OBJECT, "tensor '" + name + "'");
        StoredType type = null;
        int[] shape = null;
        Offsets off = null;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (v != JsonToken.VALUE_STRING) throw new CheckpointException(where + ": dtype is not a string");
                    type = StoredType.fromSafetensors(p.getString());
                    if (type == null) throw new CheckpointException(where + ": unknown dtype '" + p.getString() + "'");
                }
                case "shape" -> shape = intArray(where + ": shape", p, v, MAX_RANK);
                case "data_offsets" -> {
                    long[] o = longArray(where + ": data_offsets", p, v);
                    off = new Offsets(o[0], o[1]);
                }
                default -> throw new CheckpointException(where + ": unexpected field '" + field + "'");
            }
        }
        if (type == null || shape == null || off == null) throw new CheckpointException(where + ": needs dtype, shape and data_offsets");
        long numel = 1;
        for (int s : shape) {
            numel = s == 0 ? 0 : numel;
            if (numel != 0 && numel > Long.MAX_VALUE / s) throw new CheckpointException(where + ": shape too large");
            numel *= s;
        }
        if (off.begin < 0 || off.end < off.begin || off.end > data.byteSize()) {
            throw new CheckpointException(where + ": data_offsets [" + off.begin + ", " + off.end + "] outside the data (" + data.byteSize() + " bytes)");
        }
        if (numel > Long.MAX_VALUE / type.bytes()) {
            throw new CheckpointException(where + ": shape " + java.util.Arrays.toString(shape) + " of " + type + " is too large (more than 2^63 bytes)");
        }
        if (off.end - off.begin != numel * type.bytes()) {
            throw new CheckpointException(where + ": data_offsets [" + off.begin + ", " + off.end + "] hold " + (off.end - off.begin)
                    + " bytes, " + type + " " + java.util.Arrays.toString(shape) + " needs " + numel * type.bytes());
        }
        return new TensorEntry(name, type, shape, org.deltadit.engine.Tensor.contiguousStrides(shape), 0, data.asSlice(off.begin, off.end - off.begin), src);
    }

    /** Tensors must not share bytes: sort by offset and compare neighbours. */
    private static void checkOverlaps(String src, List<TensorEntry> entries, MemorySegment data, long dataStart) {
        List<TensorEntry> sorted = new ArrayList<>(entries);
        sorted.removeIf(e -> e.byteSize() == 0);
        sorted.sort((a, b) -> Long.compare(a.storage().address(), b.storage().address()));
        for (int i = 1; i < sorted.size(); i++) {
            TensorEntry prev = sorted.get(i - 1), cur = sorted.get(i);
            if (cur.storage().address() < prev.storage().address() + prev.byteSize()) {
                throw new CheckpointException(src + ": tensors '" + prev.name() + "' and '" + cur.name() + "' overlap at file offset "
                        + (dataStart + cur.storage().address() - data.address()));
            }
        }
    }

    private static void expect(String src, JsonToken got, JsonToken want, String what) {
        if (got != want) throw new CheckpointException(src + ": " + what + " is not a JSON " + (want == JsonToken.START_OBJECT ? "object" : want));
    }

    private static void skipStringMap(String src, JsonParser p) {
        expect(src, p.nextToken(), JsonToken.START_OBJECT, "__metadata__");
        for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
            if (p.nextToken() != JsonToken.VALUE_STRING) throw new CheckpointException(src + ": __metadata__ value for '" + p.currentName() + "' is not a string");
        }
    }

    private static int[] intArray(String where, JsonParser p, JsonToken first, int maxLen) {
        if (first != JsonToken.START_ARRAY) throw new CheckpointException(where + " is not an array");
        int[] buf = new int[maxLen];
        int n = 0;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t != JsonToken.VALUE_NUMBER_INT || n == maxLen) throw new CheckpointException(where + " is not a list of at most " + maxLen + " integers");
            long v = p.getLongValue();
            if (v < 0 || v > Integer.MAX_VALUE) throw new CheckpointException(where + " has size " + v + " (0.." + Integer.MAX_VALUE + ")");
            buf[n++] = (int) v;
        }
        return java.util.Arrays.copyOf(buf, n);
    }

    private static long[] longArray(String where, JsonParser p, JsonToken first) {
        if (first != JsonToken.START_ARRAY) throw new CheckpointException(where + " is not an array");
        long[] out = new long[2];
        int n = 0;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t != JsonToken.VALUE_NUMBER_INT || n == 2) throw new CheckpointException(where + " is not [begin, end]");
            try {
                out[n++] = p.getLongValue();
            } catch (JacksonException e) {
                throw new CheckpointException(where + " holds a number out of range");
            }
        }
        if (n != 2) throw new CheckpointException(where + " is not [begin, end]");
        return out;
    }

    static String firstLine(String s) {
        if (s == null) return "";
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }
}
