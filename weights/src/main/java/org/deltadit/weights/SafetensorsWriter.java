package org.deltadit.weights;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;

/**
 * Writes tensors as safetensors (header padded to 8 bytes, tensors in the given order). The file
 * is written to a temporary name beside the target and renamed, so a failure leaves no partial file.
 * An INT8 tensor is written as its I8 values and, beside them, {@code <name>_scale} (F32 [rows, groups]).
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    /** Tensors and metadata are written in name order, so the same content gives the same bytes. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) { write(file, tensors, metadata, Map.of()); }

    /**
     * As above, each tensor named in {@code as} written in that dtype (F32, F16 or BF16; rounded to nearest, ties to
     * even) a chunk at a time, so a whole model can change dtype without a converted copy of it in memory.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata, Map<String, DType> as) {
        write(file, tensors, metadata, as, -1);
    }

    /**
     * As above, and a floating-point tensor named in {@code as} with I8 is quantized as it is written
     * ({@link org.deltadit.engine.Quant#quantize}: per output channel when {@code groupSize} is 0, else per group of
     * that many), its scales beside it as an INT8 tensor's are: one weight's quantized copy in memory at a time.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata, Map<String, DType> as, int groupSize) {
        Map<String, Entry> ordered = new java.util.TreeMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            DType dt = as.getOrDefault(e.getKey(), t.dtype());
            boolean quantize = as.containsKey(e.getKey()) && dt == DType.I8;
            if (as.containsKey(e.getKey()) && (t.quant() != null || quantize && (groupSize < 0 || t.rank() < 2))) {
                throw new IllegalArgumentException(file + ": cannot write '" + e.getKey() + "' as " + dt);
            }
            ordered.put(e.getKey(), new Entry(dt, t.shape(), t, quantize ? Kind.QUANTIZE : Kind.VALUES));
            if (t.quant() == null && !quantize) continue;
            String scale = e.getKey() + TensorEntry.SCALE_SUFFIX;
            if (tensors.containsKey(scale)) throw new IllegalArgumentException(file + ": '" + scale + "' would hold the scales of INT8 '" + e.getKey() + "' and is also a tensor");
            ordered.put(scale, quantize ? new Entry(DType.F32, scalesShape(file, e.getKey(), t, groupSize), null, Kind.SCALES_PENDING)
                    : new Entry(DType.F32, null, org.deltadit.engine.Quant.scalesOf(t), Kind.VALUES));
        }
        for (String name : as.keySet()) if (!tensors.containsKey(name)) throw new IllegalArgumentException(file + ": cannot write '" + name + "' as " + as.get(name));
        StringBuilder h = new StringBuilder("{");
        if (metadata != null && !metadata.isEmpty()) {
            h.append("\"__metadata__\":{");
            int i = 0;
            for (Map.Entry<String, String> m : new java.util.TreeMap<>(metadata).entrySet()) h.append(i++ > 0 ? "," : "").append(Json.quote(m.getKey())).append(':').append(Json.quote(m.getValue()));
            h.append('}');
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : ordered.entrySet()) {
            Entry t = e.getValue();
            long bytes = java.util.Arrays.stream(t.shape()).asLongStream().reduce(1, (x, y) -> x * y) * t.dtype().bytes();
            if (h.length() > 1) h.append(',');
            h.append(Json.quote(e.getKey())).append(":{\"dtype\":\"").append(t.dtype()).append("\",\"shape\":").append(java.util.Arrays.toString(t.shape()).replace(" ", ""))
                    .append(",\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        h.append('}');
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        // Pad with spaces (in bytes: names may be non-ASCII) so the data starts 8-byte aligned.
        while (header.length % 8 != 0) header = h.append(' ').toString().getBytes(StandardCharsets.UTF_8);
        byte[] head = header;
        AtomicFiles.write(file, out -> {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(head.length).array());
            out.write(head);
            // a weight sorts before its "_scale" (a prefix first), so its scales wait here only until the next entries
            Map<String, Tensor> scales = new java.util.HashMap<>();
            for (Map.Entry<String, Entry> e : ordered.entrySet()) {
                Entry t = e.getValue();
                switch (t.kind()) {
                    case VALUES -> writeData(out, t.tensor(), t.dtype());
                    case QUANTIZE -> {
                        int[] shape = ordered.get(e.getKey() + TensorEntry.SCALE_SUFFIX).shape();
                        scales.put(e.getKey() + TensorEntry.SCALE_SUFFIX, writeQuantized(out, file, e.getKey(), t.tensor(), shape));
                    }
                    case SCALES_PENDING -> writeData(out, scales.remove(e.getKey()), DType.F32);
                }
            }
        });
    }

    /** What is written for one name: values as they are or in another dtype, a weight quantized on the way, or its scales. */
    private record Entry(DType dtype, int[] shape, Tensor tensor, Kind kind) {
        Entry {
            if (shape == null) shape = tensor.shape();
        }
    }

    private enum Kind { VALUES, QUANTIZE, SCALES_PENDING }

    /** The [rows, groups per row] scales {@link org.deltadit.engine.Quant#quantize} will give {@code t}; a group that does not divide a row is refused here, before anything is written. */
    private static int[] scalesShape(Path file, String name, Tensor t, int groupSize) {
        int rows = t.dim(0);
        long row = rows == 0 ? 0 : t.numel() / rows, group = groupSize == 0 ? Math.max(1, row) : groupSize;
        if (row % group != 0) throw new IllegalArgumentException(file + ": group size " + groupSize + " does not divide the rows of '" + name + "' " + t.shapeString());
        return new int[] {rows, (int) (row / group)};
    }

    /**
     * {@code t} quantized as {@link org.deltadit.engine.Quant#quantize} would, written a few rows at a time (no
     * whole-weight float copy); returns its scales ({@code scalesShape}) for their own entry.
     */
    private static Tensor writeQuantized(OutputStream out, Path file, String name, Tensor t, int[] scalesShape) throws IOException {
        Tensor flat = t.contiguous().reshape(-1);
        int rows = scalesShape[0], row = rows == 0 ? 0 : (int) (flat.numel() / rows), group = scalesShape[1] == 0 ? 1 : row / scalesShape[1];
        int chunkRows = Math.max(1, (1 << 16) / Math.max(1, row));
        float[] v = new float[chunkRows * row];
        byte[] q = new byte[v.length];
        float[] scales = new float[rows * scalesShape[1]];
        for (int r = 0; r < rows; r += chunkRows) {
            int n = Math.min(chunkRows, rows - r) * row;
            flat.dtype().read(flat.segment(), flat.offset() + (long) r * row, v, 0, n);
            int bad = org.deltadit.engine.Quant.quantizeGroups(v, n, group, q, scales, r * scalesShape[1]);
            if (bad >= 0) throw new IllegalArgumentException(file + ": '" + name + "' has a non-finite weight " + v[bad] + " at element " + ((long) r * row + bad) + " (nothing written)");
            out.write(q, 0, n);
        }
        return Tensor.of(scales, scalesShape);
    }

    /**
     * A tensor's values in {@code as}, a chunk at a time. The bytes are the engine's, in native order, as the readers
     * map them (safetensors is little-endian, as every machine this runs on).
     */
    private static void writeData(OutputStream out, Tensor t, DType as) throws IOException {
        if (t.quant() != null) {
            // contiguous and group-aligned (scalesOf checked): the values are one run of bytes
            byte[] b = new byte[(int) Math.min(1 << 20, Math.max(1, t.numel()))];
            for (long i = 0; i < t.numel(); i += b.length) {
                int len = (int) Math.min(b.length, t.numel() - i);
                java.lang.foreign.MemorySegment.copy(t.segment(), java.lang.foreign.ValueLayout.JAVA_BYTE, t.offset() + i, b, 0, len);
                out.write(b, 0, len);
            }
            return;
        }
        Tensor flat = t.contiguous().reshape(-1);
        DType from = flat.dtype();
        long n = flat.numel();
        int chunk = (int) Math.min(1 << 16, Math.max(n, 1));
        float[] f = from == as ? null : new float[chunk];
        byte[] b = new byte[chunk * as.bytes()];
        java.lang.foreign.MemorySegment bs = java.lang.foreign.MemorySegment.ofArray(b);
        for (long i = 0; i < n; i += chunk) {
            int len = (int) Math.min(chunk, n - i);
            if (f == null) {
                java.lang.foreign.MemorySegment.copy(flat.segment(), java.lang.foreign.ValueLayout.JAVA_BYTE, (flat.offset() + i) * from.bytes(), b, 0, len * from.bytes());
            } else {
                from.read(flat.segment(), flat.offset() + i, f, 0, len);
                as.write(bs, 0, f, 0, len);
            }
            out.write(b, 0, len * as.bytes());
        }
    }

    /**
     * Writes the tensors of {@code from} whose names pass {@code keep} to {@code to}, with the prefix
     * {@code strip} taken off each name (a fixture file's "w." weights as a checkpoint, say).
     */
    public static void copy(Path from, Path to, java.util.function.Predicate<String> keep, String strip) {
        Map<String, Tensor> w = new java.util.LinkedHashMap<>();
        try (StateDict sd = Safetensors.open(from)) {
            for (String k : sd.keys()) {
                if (!keep.test(k)) continue;
                if (!k.startsWith(strip)) throw new IllegalArgumentException(from + ": '" + k + "' does not start with '" + strip + "'");
                w.put(k.substring(strip.length()), sd.tensor(k).copy());
            }
        }
        write(to, w, null);
    }
}
