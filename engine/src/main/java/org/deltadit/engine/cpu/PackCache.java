package org.deltadit.engine.cpu;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.zip.CRC32C;
import org.deltadit.engine.Log;
import org.deltadit.engine.MappedWeights;
import org.deltadit.engine.Mat;

/**
 * BF16 weights packed once ({@link Gemm.PackedB16}) kept on disk between runs: {@code -Ddit.cpu.packcache=DIR}, off
 * by default (it writes the checkpoint's size again to disk). Packing writes fresh memory — on this project's VM 2–4 s a gigabyte (0.23–0.5 GB/s), most of a
 * BF16 DiT-XL/2's first step (bench/README.md) — while a later run maps the copy from the page cache instead. One
 * file per weight, named by a digest of its key: the checkpoint's real path, size, modification time and the
 * weight's offset, shape and strides in it, a checksum of its first and last 4 KB, and the panel geometry (NR, KC,
 * which depend on the vector width). A file whose trailer does not carry that key exactly is ignored and replaced;
 * files are written under a temporary name and renamed, so a reader never sees half of one. Any I/O failure costs
 * the caching only: one line, and the run goes on packing in memory.
 */
final class PackCache {
    private static final byte[] MAGIC = "DITPACK1".getBytes(StandardCharsets.US_ASCII);
    /**
     * The file's last bytes: magic, payload size, key length and key, zero-padded. The payload starts the file and the
     * file ends on a 2 MB boundary (the gap between them a hole, no disk), so a mapping covers whole 2 MB units of the
     * file and Linux maps the page cache's large folios with 2 MB pages (FilePmdMapped in smaps). A paired harness
     * (DiT-XL/2's four linears × 28, 256 rows) against packed copies on 2 MB slabs: 3–6 % slower with the payload
     * after a 4 KB header (4 KB pages), 4–5 % with the payload first, 1.5 % with the file rounded up to 2 MB as here
     * (both kinds of copy in one process; one kind per process, mapped was no slower). Whole generations ran later steps 4–10 % slower while the
     * files were written with write() (part of the page cache then in folios under 2 MB, mapped with 4 KB pages),
     * and not measurably slower (two 30-step pairs) since they are written through a mapping advised
     * {@code MADV_HUGEPAGE} (bench/README.md, "Packed weights kept on disk").
     */
    static final int TRAILER = 4096;
    private static final int SAMPLE = 4096;

    /**
     * A temporary older than this is a killed run's (a run writes one weight, at most tens of MB, in seconds), and the
     * first store of a run deletes it: left alone, each killed run leaves up to a weight's packed size behind.
     */
    static final java.time.Duration STALE = java.time.Duration.ofMinutes(10);

    /**
     * The folder's copies are kept under this many bytes (their files' apparent sizes) unless
     * {@code -Ddit.cpu.packcache.max} says otherwise: beyond it, copies no run has used since this one started are
     * deleted, least recently used first (a copy found is marked used). Copies of moved, changed or forgotten
     * checkpoints would otherwise stay for good.
     */
    static final long DEFAULT_MAX = 16L << 30;

    private final Path dir;
    private final long max;
    /** Files used before this are other runs' (a little slack for file systems with coarse timestamps). */
    private final java.time.Instant started = java.time.Instant.now().minusSeconds(2);
    private volatile boolean broken;
    private volatile boolean swept;
    private volatile boolean trimming;

    PackCache(Path dir) { this(dir, DEFAULT_MAX); }

    PackCache(Path dir, long max) {
        this.dir = dir;
        this.max = max;
    }

    /** From {@code -Ddit.cpu.packcache}: a folder, or null (unset, empty or {@code off}); its bound from {@code -Ddit.cpu.packcache.max}. */
    static PackCache fromProperties() {
        String v = System.getProperty("dit.cpu.packcache", "").strip();
        return v.isEmpty() || v.equalsIgnoreCase("off") ? null : new PackCache(Path.of(v), size(System.getProperty("dit.cpu.packcache.max")));
    }

    /** A size such as 16g, 500m, 1024k or a count of bytes (null: {@link #DEFAULT_MAX}). */
    static long size(String v) {
        if (v == null) return DEFAULT_MAX;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,15})([kmgt]?)b?").matcher(v.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) throw new IllegalArgumentException("-Ddit.cpu.packcache.max=" + v + ": expected a size such as 16g, 500m or 0");
        int shift = switch (m.group(2)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        long n = Long.parseLong(m.group(1));
        if (n > Long.MAX_VALUE >> shift) throw new IllegalArgumentException("-Ddit.cpu.packcache.max=" + v + ": too large");
        return n << shift;
    }

    Path dir() { return dir; }

    /** The packed copy ({@code bytes} long) stored under {@code key} ({@link #key}) by an earlier run, mapped read-only; null where there is none. */
    MemorySegment find(String key, long bytes) {
        Path file = file(key);
        if (!Files.isRegularFile(file)) return null;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = fileSize(bytes);
            if (ch.size() != size) return null;
            ByteBuffer tail = ByteBuffer.allocate(TRAILER).order(ByteOrder.LITTLE_ENDIAN);
            while (tail.hasRemaining() && ch.read(tail, size - TRAILER + tail.position()) >= 0) {}
            if (tail.hasRemaining() || !trailer(key, bytes).equals(tail.flip())) return null;
            MemorySegment whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, Arena.ofAuto());
            Untouched.hugePages(whole);
            used(file);
            return whole.asSlice(0, bytes);
        } catch (IOException e) {
            return null; // unreadable: packed again, and the file replaced
        }
    }

    /** Keeps {@code packed}, the packed copy of the weight with this {@link #key}, for later runs. */
    void store(String key, MemorySegment packed) {
        if (broken) return;
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            if (!swept) {
                swept = true;
                sweep(dir, java.time.Instant.now().minus(STALE));
            }
            tmp = Files.createTempFile(dir, "pack", ".tmp");
            long size = fileSize(packed.byteSize());
            // written through a mapping, which a full disk answers with a fault, not an IOException: checked first
            if (Files.getFileStore(dir).getUsableSpace() < 2 * size) throw new IOException("less than " + (2 * size >> 20) + " MB free");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.READ, StandardOpenOption.WRITE); Arena arena = Arena.ofConfined()) {
                ch.position(size - TRAILER);
                write(ch, trailer(key, packed.byteSize()));
                // through a mapping advised MADV_HUGEPAGE, so the page cache holds the payload in 2 MB folios and the
                // next run maps 92 % of it with 2 MB pages; write() left it in smaller folios (62 %)
                MemorySegment out = ch.map(FileChannel.MapMode.READ_WRITE, 0, size - TRAILER, arena);
                Untouched.hugePages(out);
                MemorySegment.copy(packed, 0, out, 0, packed.byteSize());
            }
            Files.move(tmp, file(key), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            if (trim(dir, max, started)[0] > 0 && !trimming) {
                trimming = true; // once a run: a new checkpoint's stores each delete a copy or two
                Log.info("cpu: deleting the packed copies in " + dir + " that no run has used since this one started, least recently used first, to keep it under "
                        + (max >> 20) + " MB (-Ddit.cpu.packcache.max)");
            }
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            broken = true;
            Log.info("cpu: cannot keep packed weights in " + dir + " (" + why(e) + "); packing them in memory only (-Ddit.cpu.packcache)");
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the failure above is the one to report
                }
            }
        }
    }

    /** Deletes this cache's temporaries ({@code pack*.tmp}) last modified before {@code before}; returns how many. */
    static int sweep(Path dir, java.time.Instant before) {
        int n = 0;
        try (java.nio.file.DirectoryStream<Path> tmps = Files.newDirectoryStream(dir, "pack*.tmp")) {
            for (Path t : tmps) {
                try {
                    if (Files.getLastModifiedTime(t).toInstant().isBefore(before) && Files.deleteIfExists(t)) n++;
                } catch (IOException e) {
                    // another run removed or renamed it meanwhile, or it cannot be removed: not this run's concern
                }
            }
        } catch (IOException e) {
            // an unlistable folder: the store that follows reports it
        }
        return n;
    }

    /** Marks a copy used now, so {@link #trim} keeps it before copies no run has used lately (a read-only folder: not marked). */
    private static void used(Path file) {
        try {
            Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(java.time.Instant.now()));
        } catch (IOException | SecurityException e) {
            // the copy is still good; it may only go sooner
        }
    }

    /**
     * While this cache's copies ({@code *.dpk}) in {@code dir} exceed {@code max} bytes, deletes the least recently used
     * of those last used before {@code before} (a running generation's, its own included, are newer and stay; a file
     * deleted while another run maps it stays readable until unmapped). Returns the count and bytes deleted.
     */
    static long[] trim(Path dir, long max, java.time.Instant before) {
        record Copy(Path file, long bytes, java.time.Instant used) {}
        java.util.List<Copy> copies = new java.util.ArrayList<>();
        long total = 0;
        try (java.nio.file.DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.dpk")) {
            for (Path f : files) {
                try {
                    java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class);
                    copies.add(new Copy(f, a.size(), a.lastModifiedTime().toInstant()));
                    total += a.size();
                } catch (IOException e) {
                    // removed by another run meanwhile
                }
            }
        } catch (IOException e) {
            return new long[] {0, 0};
        }
        long count = 0, bytes = 0;
        copies.sort(java.util.Comparator.comparing(Copy::used));
        for (Copy c : copies) {
            if (total <= max || !c.used().isBefore(before)) break;
            try {
                if (Files.deleteIfExists(c.file())) {
                    count++;
                    bytes += c.bytes();
                }
                total -= c.bytes();
            } catch (IOException e) {
                // cannot be removed: left, and the folder stays over its bound
            }
        }
        return new long[] {count, bytes};
    }

    /** A failure in words: the file system's reason where it gives one (a path alone says nothing). */
    static String why(Exception e) {
        return switch (e) {
            case java.nio.file.AccessDeniedException a -> "permission denied: " + a.getFile();
            case java.nio.file.NoSuchFileException n -> "no such folder: " + n.getFile();
            case java.nio.file.FileAlreadyExistsException f -> "a file is in the way: " + f.getFile();
            case java.nio.file.FileSystemException f when f.getReason() != null -> f.getReason() + ": " + f.getFile();
            default -> e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        };
    }

    /** The payload, the trailer, and the hole between them that rounds the file up to whole 2 MB. */
    static long fileSize(long bytes) { return (bytes + TRAILER + (2 << 20) - 1) / (2 << 20) * (2 << 20); }

    private static void write(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    private Path file(String key) { return dir.resolve(digest(key) + ".dpk"); }

    /** What a stored copy of b must say it is; null where b is not a BF16 weight mapped from a recorded file. */
    static String key(Mat b) {
        if (b.dtype() != org.deltadit.engine.DType.BF16 || b.quant() != null) return null;
        MemorySegment bytes = b.storage();
        MappedWeights.Source src = MappedWeights.source(bytes);
        if (src == null) return null;
        long n = bytes.byteSize(), sample = Math.min(SAMPLE, n);
        CRC32C crc = new CRC32C();
        crc.update(bytes.asSlice(0, sample).asByteBuffer());
        crc.update(bytes.asSlice(n - sample, sample).asByteBuffer());
        String key = String.format(Locale.ROOT, "bf16-pairs v1 NR=%d KC=%d rows=%d cols=%d strides=%d,%d file=%s size=%d mtime=%d at=%d crc=%08x",
                Gemm.NR, Gemm.KC, b.rows(), b.cols(), b.rowStride(), b.colStride(), src.path(), src.fileBytes(), src.modifiedNanos(), src.offset(), crc.getValue());
        return key.getBytes(StandardCharsets.UTF_8).length <= TRAILER - 20 ? key : null; // a path of kilobytes: not kept
    }

    private static ByteBuffer trailer(String key, long bytes) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        ByteBuffer h = ByteBuffer.allocate(TRAILER).order(ByteOrder.LITTLE_ENDIAN);
        h.put(MAGIC).putLong(bytes).putInt(k.length).put(k);
        return h.clear();
    }

    private static String digest(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)), 0, 20);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256", e);
        }
    }
}
