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
        for (Map.Entry<String, DType> e : as.entrySet()) {
            Tensor t = tensors.get(e.getKey());
            if (t == null || t.quant() != null || e.getValue() == DType.I8) throw new IllegalArgumentException(file + ": cannot write '" + e.getKey() + "' as " + e.getValue());
        }
        Map<String, Tensor> ordered = new java.util.TreeMap<>(tensors);
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getValue().quant() == null) continue;
            String scale = e.getKey() + TensorEntry.SCALE_SUFFIX;
            if (tensors.containsKey(scale)) throw new IllegalArgumentException(file + ": '" + scale + "' would hold the scales of INT8 '" + e.getKey() + "' and is also a tensor");
            ordered.put(scale, org.deltadit.engine.Quant.scalesOf(e.getValue()));
        }
        StringBuilder h = new StringBuilder("{");
        if (metadata != null && !metadata.isEmpty()) {
            h.append("\"__metadata__\":{");
            int i = 0;
            for (Map.Entry<String, String> m : new java.util.TreeMap<>(metadata).entrySet()) h.append(i++ > 0 ? "," : "").append(Json.quote(m.getKey())).append(':').append(Json.quote(m.getValue()));
            h.append('}');
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : ordered.entrySet()) {
            Tensor t = e.getValue();
            DType dt = as.getOrDefault(e.getKey(), t.dtype());
            long bytes = t.numel() * dt.bytes();
            if (h.length() > 1) h.append(',');
            h.append(Json.quote(e.getKey())).append(":{\"dtype\":\"").append(dt).append("\",\"shape\":").append(java.util.Arrays.toString(t.shape()).replace(" ", ""))
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
            for (Map.Entry<String, Tensor> e : ordered.entrySet()) writeData(out, e.getValue(), as.getOrDefault(e.getKey(), e.getValue().dtype()));
        });
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
