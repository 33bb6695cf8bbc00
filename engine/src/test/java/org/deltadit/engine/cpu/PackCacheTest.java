package org.deltadit.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.deltadit.engine.DType;
import org.deltadit.engine.MappedWeights;
import org.deltadit.engine.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** BF16 packed copies kept on disk: the same products from the file, and never a copy of other bytes. */
class PackCacheTest {
    @TempDir Path dir;
    static final int K = 300, N = 70, M = 9; // two panels, the second partial; more rows than the small-M kernel's

    private static float[] random(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** {@code count} BF16 [N, K] weights one after another, as a checkpoint holds them. */
    private Path checkpoint(String name, long seed, int count) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, Tensor.of(random(seed, count * N * K), count * N, K).to(DType.BF16).readSegment().toArray(ValueLayout.JAVA_BYTE));
        return file;
    }

    private static CpuBackend backend(PackCache cache) { return new CpuBackend(2, new Prepacked(Prepacked.Mode.AUTO, Long.MAX_VALUE, cache)); }

    /** The products of x with each weight of {@code file}, mapped as the loaders map a checkpoint. */
    private static float[][] products(Path file, int count, Function<Tensor, Tensor> product) throws IOException {
        float[][] out = new float[count][];
        try (Arena a = Arena.ofShared(); FileChannel ch = FileChannel.open(file)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), a);
            MappedWeights.add(seg, file);
            for (int i = 0; i < count; i++) out[i] = product.apply(Tensor.wrap(seg.asSlice((long) i * N * K * 2, (long) N * K * 2), DType.BF16, N, K)).toFloatArray();
        }
        return out;
    }

    private static final Tensor X = Tensor.of(random(1, M * K), M, K);

    private List<Path> kept(Path cache) throws IOException {
        try (Stream<Path> s = Files.list(cache)) {
            return s.sorted().toList();
        }
    }

    @Test
    void aLaterRunMapsTheCopyAndGetsTheSameProducts() throws IOException {
        Path file = checkpoint("w.bin", 2, 2), cache = dir.resolve("cache");
        float[][] want = products(file, 2, w -> backend(null).linear(X, w, null));
        CpuBackend first = backend(new PackCache(cache));
        assertArrayEquals(want, products(file, 2, w -> first.linear(X, w, null)), "packed and stored");
        List<Path> files = kept(cache);
        assertEquals(2, files.size(), "one file a weight, no temporary left: " + files);
        assertTrue(files.stream().allMatch(f -> f.toString().endsWith(".dpk")), files.toString());
        CpuBackend later = backend(new PackCache(cache));
        assertArrayEquals(want, products(file, 2, w -> later.linear(X, w, null)), "mapped from the cache");
        assertEquals(2, later.prepacked().count());
        assertEquals(0, later.prepacked().bytes(), "nothing allocated: both copies mapped");

        // the copy on disk is what serves: spoil one value of each stored payload (trailers intact)
        for (Path f : files) {
            try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
                r.seek(0);
                r.writeInt(0x7F7F7F7F);
            }
        }
        float[][] spoiled = products(file, 2, w -> backend(new PackCache(cache)).linear(X, w, null));
        assertFalse(java.util.Arrays.equals(want[0], spoiled[0]), "a third run read the files");
    }

    @Test
    void aKilledRunsTemporariesAreRemovedByTheNextStoreAndAFreshOneIsKept() throws IOException {
        Path file = checkpoint("w.bin", 2, 1), cache = Files.createDirectories(dir.resolve("cache"));
        Path stale = Files.writeString(cache.resolve("pack123.tmp"), "killed"), fresh = Files.writeString(cache.resolve("pack456.tmp"), "writing");
        Path other = Files.writeString(cache.resolve("notes.tmp"), "not ours");
        Files.setLastModifiedTime(stale, FileTime.from(java.time.Instant.now().minus(PackCache.STALE).minusSeconds(60)));
        products(file, 1, w -> backend(new PackCache(cache)).linear(X, w, null));
        assertFalse(Files.exists(stale), "a killed run's temporary");
        assertTrue(Files.exists(fresh), "another run's, being written");
        assertTrue(Files.exists(other), "a file the cache did not make");
        assertEquals(3, kept(cache).size(), "the stored copy beside the two kept files: " + kept(cache));
    }

    @Test
    void copiesBeyondTheBoundGoLeastRecentlyUsedFirstButNeverThisRunsOwn() throws IOException {
        Path cache = Files.createDirectories(dir.resolve("bound"));
        java.time.Instant now = java.time.Instant.now();
        Path oldest = old(cache, "a.dpk", 300, now.minusSeconds(3000)), older = old(cache, "b.dpk", 300, now.minusSeconds(2000));
        Path old = old(cache, "c.dpk", 300, now.minusSeconds(1000)), mine = old(cache, "d.dpk", 300, now);
        Path notOurs = old(cache, "notes.txt", 5000, now.minusSeconds(9000));
        assertArrayEquals(new long[] {0, 0}, PackCache.trim(cache, 1200, now.minusSeconds(2)), "within the bound: nothing");
        assertArrayEquals(new long[] {2, 600}, PackCache.trim(cache, 650, now.minusSeconds(2)), "the two least recently used");
        assertFalse(Files.exists(oldest) || Files.exists(older));
        assertTrue(Files.exists(old) && Files.exists(mine) && Files.exists(notOurs));
        assertArrayEquals(new long[] {1, 300}, PackCache.trim(cache, 0, now.minusSeconds(2)), "a bound of 0 keeps only copies used since the run started");
        assertTrue(Files.exists(mine) && Files.exists(notOurs));
    }

    @Test
    void aCopyFoundIsMarkedUsedAndAStoreTrimsOtherRunsCopies() throws IOException {
        Path file = checkpoint("w.bin", 2, 2), cache = dir.resolve("cache");
        products(file, 1, w -> backend(new PackCache(cache)).linear(X, w, null));
        Path first = kept(cache).getFirst();
        java.time.Instant longAgo = java.time.Instant.now().minusSeconds(86_400);
        Files.setLastModifiedTime(first, FileTime.from(longAgo));
        Path stranger = old(cache, "0000.dpk", 4096, longAgo.minusSeconds(60)); // a forgotten checkpoint's copy
        // a later run with a bound of nothing finds the first weight's copy (marking it used) and stores the second's:
        // that store deletes the stranger, and neither copy of this run
        products(file, 2, w -> backend(new PackCache(cache, 0)).linear(X, w, null));
        assertFalse(Files.exists(stranger), "another checkpoint's old copy, beyond the bound");
        assertEquals(2, kept(cache).size(), "this run's two copies: " + kept(cache));
        assertTrue(Files.getLastModifiedTime(first).toInstant().isAfter(longAgo.plusSeconds(60)), "the copy found was marked used");
    }

    @Test
    void theBoundIsASize() {
        assertEquals(PackCache.DEFAULT_MAX, PackCache.size(null));
        assertEquals(16L << 30, PackCache.size("16g"));
        assertEquals(500L << 20, PackCache.size(" 500M "));
        assertEquals(1L << 40, PackCache.size("1tb"));
        assertEquals(0, PackCache.size("0"));
        assertEquals(4096, PackCache.size("4096"));
        for (String bad : new String[] {"1.5g", "-1", "x", "", "9999999999t"}) {
            String msg = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> PackCache.size(bad), bad).getMessage();
            assertTrue(msg.startsWith("-Ddit.cpu.packcache.max=" + bad), msg);
        }
    }

    private static Path old(Path folder, String name, int bytes, java.time.Instant used) throws IOException {
        Path f = Files.write(folder.resolve(name), new byte[bytes]);
        Files.setLastModifiedTime(f, FileTime.from(used));
        return f;
    }

    @Test
    void aChangedCheckpointIsPackedAgainNotServedFromTheCache() throws IOException {
        Path file = checkpoint("w.bin", 2, 1), cache = dir.resolve("cache");
        products(file, 1, w -> backend(new PackCache(cache)).linear(X, w, null));
        FileTime when = Files.getLastModifiedTime(file);
        // other values, the same size and the same modification time: the checksum of the weight's ends tells them apart
        Files.write(file, Tensor.of(random(3, N * K), N, K).to(DType.BF16).readSegment().toArray(ValueLayout.JAVA_BYTE));
        Files.setLastModifiedTime(file, when);
        float[] want = products(file, 1, w -> backend(null).linear(X, w, null))[0];
        assertArrayEquals(want, products(file, 1, w -> backend(new PackCache(cache)).linear(X, w, null))[0]);
        assertEquals(2, kept(cache).size(), "a second key, a second file");
    }

    @Test
    void aTruncatedOrForeignFileIsReplaced() throws IOException {
        Path file = checkpoint("w.bin", 2, 2), cache = dir.resolve("cache");
        float[][] want = products(file, 2, w -> backend(new PackCache(cache)).linear(X, w, null));
        Path stored = kept(cache).get(0), other = kept(cache).get(1);
        long size = Files.size(stored);
        try (FileChannel ch = FileChannel.open(stored, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(size - 1);
        }
        assertArrayEquals(want, products(file, 2, w -> backend(new PackCache(cache)).linear(X, w, null)), "truncated: packed again");
        assertEquals(size, Files.size(stored), "and stored whole again");
        // each file holding the other weight's copy (the same size, the other key in its trailer)
        byte[] a = Files.readAllBytes(stored), b = Files.readAllBytes(other);
        Files.write(stored, b);
        Files.write(other, a);
        assertArrayEquals(want, products(file, 2, w -> backend(new PackCache(cache)).linear(X, w, null)), "another weight's copy: packed again");
        assertArrayEquals(a, Files.readAllBytes(stored), "and replaced");
    }

    @Test
    void aFolderThatCannotBeWrittenCostsTheCachingOnly() throws IOException {
        Path file = checkpoint("w.bin", 2, 1), notAFolder = Files.writeString(dir.resolve("plain-file"), "x");
        float[] want = products(file, 1, w -> backend(null).linear(X, w, null))[0];
        CpuBackend cpu = backend(new PackCache(notAFolder.resolve("cache")));
        assertArrayEquals(want, products(file, 1, w -> cpu.linear(X, w, null))[0]);
        assertEquals("x", Files.readString(notAFolder));
        // the line names the problem, not only a path
        String why = PackCache.why(org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> Files.createDirectories(notAFolder.resolve("cache"))));
        assertTrue(why.startsWith("a file is in the way") || why.contains("Not a directory"), why);
        assertEquals("permission denied: /x", PackCache.why(new java.nio.file.AccessDeniedException("/x")));
    }

    @Test
    void onlyBf16WeightsMappedFromARecordedFileHaveAKey() throws IOException {
        Path file = checkpoint("w.bin", 2, 1);
        assertNull(PackCache.key(org.deltadit.engine.Mat.of(Tensor.of(random(4, N * K), N, K).to(DType.BF16))), "on the heap");
        try (Arena a = Arena.ofShared(); FileChannel ch = FileChannel.open(file)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), a);
            assertNull(PackCache.key(org.deltadit.engine.Mat.of(Tensor.wrap(seg, DType.BF16, N, K))), "a mapping no loader recorded");
            MappedWeights.add(seg, file);
            String key = PackCache.key(org.deltadit.engine.Mat.of(Tensor.wrap(seg, DType.BF16, N, K).transpose(0, 1)));
            assertTrue(key != null && key.contains("file=" + file.toRealPath()) && key.contains("NR=" + Gemm.NR) && key.contains("strides=1," + K), key);
        }
    }

    @Test
    void thePropertyNamesAFolderOrNothing() {
        String before = System.getProperty("dit.cpu.packcache");
        try {
            System.clearProperty("dit.cpu.packcache");
            assertNull(PackCache.fromProperties());
            System.setProperty("dit.cpu.packcache", "off");
            assertNull(PackCache.fromProperties());
            System.setProperty("dit.cpu.packcache", dir.toString());
            assertEquals(dir, PackCache.fromProperties().dir());
        } finally {
            if (before == null) System.clearProperty("dit.cpu.packcache");
            else System.setProperty("dit.cpu.packcache", before);
        }
    }
}
