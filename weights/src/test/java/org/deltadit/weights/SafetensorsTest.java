package org.deltadit.weights;

import static org.deltadit.weights.Fixtures.fails;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deltadit.engine.DType;
import org.deltadit.engine.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir Path dir;

    static Map<String, Tensor> sample() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        float[] v = new float[24];
        for (int i = 0; i < v.length; i++) v[i] = i * 0.37f - 3;
        m.put("a.weight", Tensor.of(v, 2, 3, 4));
        m.put("half", Tensor.of(v.clone(), 4, 6).to(DType.F16));
        m.put("brain", Tensor.of(v.clone(), 24).to(DType.BF16));
        m.put("empty", Tensor.zeros(0, 5));
        m.put("scalar", Tensor.of(new float[] {7f}));
        return m;
    }

    @Test
    void writesAndReadsBackEveryDtype() throws IOException {
        Path f = dir.resolve("x.safetensors");
        SafetensorsWriter.write(f, sample(), Map.of("format", "pt"));
        try (StateDict sd = Safetensors.open(f)) {
            assertEquals(5, sd.size());
            assertEquals(Files.size(f), org.deltadit.engine.MappedWeights.of(sd.tensor("half").readSegment().scope()),
                    "the mapping is recorded, so the cpu backend sizes its packed copies to the file");
            // and the file it came from, so a packed copy on disk can be named by it (PackCache)
            Tensor half = sd.tensor("half");
            org.deltadit.engine.MappedWeights.Source src = org.deltadit.engine.MappedWeights.source(half.readSegment());
            assertEquals(f.toRealPath().toString(), src.path());
            assertEquals(Files.size(f), src.fileBytes());
            assertEquals(Files.getLastModifiedTime(f).to(java.util.concurrent.TimeUnit.NANOSECONDS), src.modifiedNanos());
            byte[] file = Files.readAllBytes(f), own = half.readSegment().asSlice(half.offset() * 2, 24 * 2).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            long at = src.offset() + half.offset() * 2;
            assertArrayEquals(own, java.util.Arrays.copyOfRange(file, (int) at, (int) at + own.length), "the offset is where its bytes are in the file");
            for (Map.Entry<String, Tensor> e : sample().entrySet()) {
                Tensor t = sd.tensor(e.getKey());
                assertEquals(e.getValue().dtype(), t.dtype(), e.getKey());
                assertArrayEquals(e.getValue().shape(), t.shape(), e.getKey());
                assertArrayEquals(e.getValue().toFloatArray(), t.toFloatArray(), e.getKey());
            }
        }
        long headerLength = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "data starts 8-byte aligned");
    }

    @Test
    void tensorsAreWrittenInAnotherDtypeAChunkAtATime() throws IOException {
        Path f = dir.resolve("as.safetensors");
        Map<String, Tensor> m = sample();
        float[] big = new float[(1 << 16) * 2 + 5]; // past one chunk, and a partial last one
        for (int i = 0; i < big.length; i++) big[i] = (float) Math.sin(i) * 1000 + 1f / (i + 1);
        m.put("big", Tensor.of(big, big.length));
        m.put("strided", Tensor.of(java.util.Arrays.copyOf(big, 12), 3, 4).transpose(0, 1)); // a view: written in its logical order
        Map<String, DType> as = Map.of("a.weight", DType.BF16, "half", DType.F32, "brain", DType.F16, "big", DType.BF16, "strided", DType.F16, "empty", DType.BF16);
        SafetensorsWriter.write(f, m, null, as);
        try (StateDict sd = Safetensors.open(f)) {
            for (Map.Entry<String, Tensor> e : m.entrySet()) {
                DType want = as.getOrDefault(e.getKey(), e.getValue().dtype());
                Tensor t = sd.tensor(e.getKey());
                assertEquals(want, t.dtype(), e.getKey());
                assertArrayEquals(e.getValue().shape(), t.shape(), e.getKey());
                // rounded as Tensor.to rounds (nearest, ties to even), element for element
                assertArrayEquals(e.getValue().to(want).toFloatArray(), t.toFloatArray(), e.getKey());
            }
        }
        assertEquals(Files.size(f) - 8 - ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(),
                24 * 2 + 24 * 4 + 24 * 2 + 4 + 2L * big.length + 12 * 2, "each tensor's bytes at its new size: a.weight, half, brain, scalar, big, strided");
        Path bad = dir.resolve("bad.safetensors");
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(bad, m, null, Map.of("missing", DType.BF16))).getMessage().contains("cannot write 'missing' as BF16"));
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(bad, m, null, Map.of("big", DType.I8))).getMessage().contains("cannot write 'big' as I8"));
        assertFalse(Files.exists(bad));
    }

    @Test
    void shardedIndexLoadsAsOne() throws IOException {
        Map<String, Tensor> all = sample();
        Map<String, Tensor> one = new LinkedHashMap<>(), two = new LinkedHashMap<>();
        int i = 0;
        StringBuilder map = new StringBuilder();
        for (Map.Entry<String, Tensor> e : all.entrySet()) {
            String shard = i++ % 2 == 0 ? "m-00001-of-00002.safetensors" : "m-00002-of-00002.safetensors";
            (shard.startsWith("m-00001") ? one : two).put(e.getKey(), e.getValue());
            map.append(map.isEmpty() ? "" : ",").append('"').append(e.getKey()).append("\":\"").append(shard).append('"');
        }
        SafetensorsWriter.write(dir.resolve("m-00001-of-00002.safetensors"), one, null);
        SafetensorsWriter.write(dir.resolve("m-00002-of-00002.safetensors"), two, null);
        Path index = dir.resolve("m.safetensors.index.json");
        Files.writeString(index, "{\"metadata\":{\"total_size\":1},\"weight_map\":{" + map + "}}");
        try (StateDict sd = Checkpoint.read(index, null)) {
            assertEquals(all.keySet(), sd.keys());
            assertArrayEquals(all.get("half").toFloatArray(), sd.tensor("half").toFloatArray());
        }
        Files.writeString(index, "{\"weight_map\":{\"a.weight\":\"m-00002-of-00002.safetensors\"}}");
        fails(() -> Checkpoint.read(index, null), "key 'a.weight' is not in m-00002-of-00002.safetensors");
        Files.writeString(index, "{\"weight_map\":{\"a.weight\":\"../escape.safetensors\"}}");
        fails(() -> Checkpoint.read(index, null), "a.weight", "names no file");
    }

    /** Writes an 8-byte length, the header text (padded) and {@code data} bytes. */
    Path raw(String name, long headerLength, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(h);
        Path f = dir.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    Path raw(String name, String header, int dataBytes) throws IOException { return raw(name, header.length(), header, dataBytes); }

    @Test
    void badFilesFailWithTheFileAndTheKey() throws IOException {
        String ok = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        fails(() -> Safetensors.open(tiny), "tiny.safetensors", "truncated");
        Path big = raw("big.safetensors", 1L << 40, ok, 16);
        fails(() -> Safetensors.open(big), "big.safetensors", "header length");
        Path over = raw("over.safetensors", 200L << 20, ok, 16);
        fails(() -> Safetensors.open(over), "over.safetensors", "header length");
        Path longer = raw("longer.safetensors", 4096, ok, 16);
        fails(() -> Safetensors.open(longer), "longer.safetensors", "larger than the file");
        fails(() -> Safetensors.open(raw("notjson.safetensors", "{\"t\" 1}", 16)), "notjson.safetensors", "not valid JSON");
        fails(() -> Safetensors.open(raw("notobj.safetensors", "{\"t\": [1, 2]}", 16)), "notobj.safetensors", "tensor 't' is not a JSON object");
        fails(() -> Safetensors.open(raw("arr.safetensors", "[1,2,3]", 0)), "arr.safetensors", "not a JSON object");
        fails(() -> Safetensors.open(raw("range.safetensors", ok.replace("[0,16]", "[0,32]"), 16)), "range.safetensors", "'t'", "outside the data");
        fails(() -> Safetensors.open(raw("neg.safetensors", ok.replace("[0,16]", "[8,0]"), 16)), "'t'", "data_offsets");
        fails(() -> Safetensors.open(raw("size.safetensors", ok.replace("[2,2]", "[2,3]"), 16)), "size.safetensors", "'t'", "needs 24");
        fails(() -> Safetensors.open(raw("dtype.safetensors", ok.replace("F32", "Q7"), 16)), "dtype.safetensors", "'t'", "unknown dtype 'Q7'");
        String two = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
        fails(() -> Safetensors.open(raw("overlap.safetensors", two, 16)), "overlap.safetensors", "'a' and 'b' overlap");
        String dup = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        fails(() -> Safetensors.open(raw("dup.safetensors", dup, 8)), "dup.safetensors", "'a' appears twice");
        fails(() -> Safetensors.open(raw("shape.safetensors", ok.replace("[2,2]", "[2,-2]"), 16)), "'t'", "shape");
        fails(() -> Safetensors.open(raw("field.safetensors", ok.replace("\"shape\"", "\"shapes\""), 16)), "'t'", "unexpected field 'shapes'");
        fails(() -> Safetensors.open(dir.resolve("absent.safetensors")), "absent.safetensors", "cannot read");
        // about 2^63 floats: the byte count overflows, which once printed a nonsense "hold N bytes … needs M"
        fails(() -> Safetensors.open(raw("huge.safetensors", ok.replace("[2,2]", "[2147483647,2147483647,2]"), 16)), "huge.safetensors", "'t'", "too large");
    }

    @Test
    void aLyingHeaderIsRefusedBeforeAnyLargeAllocation() throws IOException {
        // Claims 2^40 elements: the size check fails before anything of that size is touched.
        Path f = raw("liar.safetensors", "{\"t\":{\"dtype\":\"F32\",\"shape\":[1048576,1048576],\"data_offsets\":[0,16]}}", 16);
        // an allocation of 2^40 floats would be an OutOfMemoryError, not this message about the data's size
        fails(() -> Safetensors.open(f), "liar.safetensors", "'t'", "needs 4398046511104");
    }

    @Test
    void writerLeavesNoPartialFileOnFailure() throws IOException {
        // the rename fails after the data is written: the target is a folder that is not empty
        Path target = Files.createDirectories(dir.resolve("busy.safetensors"));
        Files.writeString(target.resolve("keep"), "x");
        org.junit.jupiter.api.Assertions.assertThrows(java.io.UncheckedIOException.class, () -> SafetensorsWriter.write(target, sample(), null));
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            java.util.List<String> left = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList();
            assertTrue(left.isEmpty(), "temporary files left: " + left);
        }
        assertTrue(Files.isDirectory(target) && Files.exists(target.resolve("keep")), "the existing folder is untouched");
    }

    @Test
    void weightsQuantizedAsTheyAreWrittenMatchTheWholeTensorRuleByteForByte() throws IOException {
        float[] v = new float[300 * 256]; // past one chunk of rows, with a partial last one
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(i * 0.37) * (1 + i % 97) / 10;
        java.util.Arrays.fill(v, 5 * 256, 6 * 256, 0f); // an all-zero row: scale 0
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("big", Tensor.of(v, 300, 256));
        in.put("bf", Tensor.of(java.util.Arrays.copyOf(v, 24 * 96), 24, 96).to(DType.BF16));
        in.put("strided", Tensor.of(java.util.Arrays.copyOf(v, 12 * 16), 12, 16).transpose(0, 1)); // a view: its logical order
        in.put("bias", Tensor.of(new float[] {1, 2, 3}, 3));
        Map<String, DType> as = Map.of("big", DType.I8, "bf", DType.I8, "strided", DType.I8);
        for (int group : new int[] {0, 4}) {
            Path streamed = dir.resolve("s" + group + ".safetensors"), whole = dir.resolve("w" + group + ".safetensors");
            SafetensorsWriter.write(streamed, in, Map.of("format", "pt"), as, group);
            Map<String, Tensor> q = new LinkedHashMap<>(in);
            for (String name : as.keySet()) q.put(name, org.deltadit.engine.Quant.quantize(in.get(name), group));
            SafetensorsWriter.write(whole, q, Map.of("format", "pt"));
            assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(streamed), "group " + group + ": the bytes of quantizing each weight whole");
            try (StateDict sd = Safetensors.open(streamed)) {
                assertEquals(3, sd.quantizedCount());
                assertArrayEquals(q.get("big").toFloatArray(), sd.tensor("big").toFloatArray(), 0f);
            }
        }
        // refused before anything is written: a group that does not divide a row, a vector, a non-finite weight (in the second chunk)
        Path bad = dir.resolve("bad.safetensors");
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(bad, in, null, as, 7)).getMessage().contains("group size 7 does not divide the rows of 'big'"));
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(bad, in, null, Map.of("bias", DType.I8), 0)).getMessage().contains("cannot write 'bias' as I8"));
        float[] nan = v.clone();
        nan[70_001] = Float.NaN;
        Map<String, Tensor> withNan = Map.of("big", Tensor.of(nan, 300, 256));
        String msg = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(bad, withNan, null, Map.of("big", DType.I8), 0)).getMessage();
        assertTrue(msg.contains("'big' has a non-finite weight NaN at element 70001"), msg);
        assertFalse(Files.exists(bad));
        try (java.util.stream.Stream<Path> left = Files.list(dir)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary left");
        }
    }

    @Test
    void int8WeightsTravelWithTheirScales() throws IOException {
        float[] v = new float[6 * 8];
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(i * 0.7) * (1 + i / 8);
        Tensor q = org.deltadit.engine.Quant.quantize(Tensor.of(v, 6, 8), 4);
        Path f = dir.resolve("q.safetensors");
        SafetensorsWriter.write(f, Map.of("blocks.0.w.weight", q, "bias", Tensor.of(new float[] {1, 2}, 2)), null);
        try (StateDict sd = Safetensors.open(f)) {
            assertEquals(java.util.Set.of("blocks.0.w.weight", "bias"), sd.keys(), "the scales are no key of their own");
            assertEquals(1, sd.quantizedCount());
            Tensor back = sd.tensor("blocks.0.w.weight");
            assertEquals(DType.I8, back.dtype());
            assertArrayEquals(q.toFloatArray(), back.toFloatArray(), 0f);
            assertEquals(48 + 12 * 4, sd.entry("blocks.0.w.weight").byteSize(), "values and scales");
        }
        // scales that do not fit their weight, or are not floats, are one line naming both
        fails(() -> Safetensors.open(raw("rows.safetensors", "{\"w\":{\"dtype\":\"I8\",\"shape\":[2,4],\"data_offsets\":[0,8]},"
                + "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[8,20]}}", 20)), "rows.safetensors", "'w'", "w_scale", "[2, groups dividing 4]");
        fails(() -> Safetensors.open(raw("ints.safetensors", "{\"w\":{\"dtype\":\"I8\",\"shape\":[2,4],\"data_offsets\":[0,8]},"
                + "\"w_scale\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16)), "ints.safetensors", "I32");
        fails(() -> Safetensors.open(raw("rank1.safetensors", "{\"w\":{\"dtype\":\"I8\",\"shape\":[8],\"data_offsets\":[0,8]},"
                + "\"w_scale\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12)), "rank 2 or more");
    }
}
