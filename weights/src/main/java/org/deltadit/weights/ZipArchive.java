package org.deltadit.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The central directory of a zip file held in a mapped segment (ZIP64 included), so stored
 * entries, as torch.save writes its tensor storages, can be viewed in place without copying.
 * Every offset is checked against the segment before it is followed.
 */
final class ZipArchive {
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int MAX_ENTRIES = 1 << 20;

    record Entry(String name, int method, long compressedSize, long size, long localHeader) {}

    private final String src;
    private final MemorySegment seg;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    ZipArchive(String src, MemorySegment seg) {
        this.src = src;
        this.seg = seg;
        readDirectory();
    }

    Map<String, Entry> entries() { return entries; }

    /** True when the segment starts like a zip file (a local header or an empty archive's end record). */
    static boolean looksLikeZip(MemorySegment seg) {
        if (seg.byteSize() < 4) return false;
        int sig = seg.get(LE_INT, 0);
        return sig == 0x04034b50 || sig == 0x06054b50;
    }

    /** The bytes of a stored entry as a view; a deflated entry is inflated into a heap copy of its declared size. */
    MemorySegment data(Entry e) {
        long lh = e.localHeader;
        need(lh, 30, "local header of '" + e.name + "'");
        if (seg.get(LE_INT, lh) != 0x04034b50) throw bad("no local header for '" + e.name + "' at offset " + lh);
        long start = lh + 30 + u16(lh + 26) + u16(lh + 28);
        need(start, e.compressedSize, "data of '" + e.name + "'");
        MemorySegment raw = seg.asSlice(start, e.compressedSize);
        if (e.method == 0) {
            if (e.compressedSize != e.size) throw bad("stored entry '" + e.name + "' has sizes " + e.compressedSize + " and " + e.size);
            return raw;
        }
        if (e.method != 8) throw bad("entry '" + e.name + "' uses compression method " + e.method + " (only stored and deflate are read)");
        if (e.size > Integer.MAX_VALUE - 16) throw bad("deflated entry '" + e.name + "' is too large (" + e.size + " bytes)");
        byte[] out = new byte[(int) e.size];
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(raw.asByteBuffer());
            int n = 0;
            while (n < out.length && !inf.finished()) {
                int got = inf.inflate(out, n, out.length - n);
                if (got == 0 && (inf.needsInput() || inf.needsDictionary())) break;
                n += got;
            }
            if (n != out.length) throw bad("deflated entry '" + e.name + "' inflates to " + n + " bytes, not " + e.size);
        } catch (DataFormatException ex) {
            throw bad("deflated entry '" + e.name + "' is corrupt (" + ex.getMessage() + ")");
        } finally {
            inf.end();
        }
        return MemorySegment.ofArray(out);
    }

    private void readDirectory() {
        long size = seg.byteSize();
        if (size < 22) throw bad("truncated zip (" + size + " bytes)");
        long eocd = -1;
        for (long p = size - 22; p >= Math.max(0, size - 22 - 65535); p--) {
            if (seg.get(LE_INT, p) == 0x06054b50) {
                eocd = p;
                break;
            }
        }
        if (eocd < 0) throw bad("truncated zip: no end-of-central-directory record");
        long count = u16(eocd + 10), cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16);
        if (eocd >= 20 && seg.get(LE_INT, eocd - 20) == 0x07064b50) {
            long z = seg.get(LE_LONG, eocd - 12);
            need(z, 56, "ZIP64 end record");
            if (seg.get(LE_INT, z) != 0x06064b50) throw bad("bad ZIP64 end record at offset " + z);
            count = seg.get(LE_LONG, z + 32);
            cdSize = seg.get(LE_LONG, z + 40);
            cdOffset = seg.get(LE_LONG, z + 48);
        }
        if (count < 0 || count > MAX_ENTRIES) throw bad("zip claims " + count + " entries");
        need(cdOffset, cdSize, "central directory");
        long p = cdOffset, end = cdOffset + cdSize;
        for (long i = 0; i < count; i++) {
            need(p, 46, "central directory entry " + i);
            if (p + 46 > end || seg.get(LE_INT, p) != 0x02014b50) throw bad("bad central directory entry " + i + " at offset " + p);
            int method = u16(p + 10), nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32);
            long csize = u32(p + 20), usize = u32(p + 24), local = u32(p + 42);
            need(p + 46, (long) nameLen + extraLen + commentLen, "central directory entry " + i);
            String name = new String(seg.asSlice(p + 46, nameLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            // ZIP64 extra field: the 64-bit values of whichever 32-bit fields are saturated, in this order.
            for (long x = p + 46 + nameLen, xe = x + extraLen; x + 4 <= xe; ) {
                int id = u16(x), len = u16(x + 2);
                long v = x + 4;
                if (v + len > xe) throw bad("bad extra field in entry '" + name + "'");
                if (id == 1) {
                    if (usize == 0xffffffffL && v + 8 <= x + 4 + len) { usize = seg.get(LE_LONG, v); v += 8; }
                    if (csize == 0xffffffffL && v + 8 <= x + 4 + len) { csize = seg.get(LE_LONG, v); v += 8; }
                    if (local == 0xffffffffL && v + 8 <= x + 4 + len) { local = seg.get(LE_LONG, v); }
                }
                x += 4 + len;
            }
            if (csize < 0 || usize < 0 || local < 0) throw bad("entry '" + name + "' has a negative size or offset");
            entries.put(name, new Entry(name, method, csize, usize, local));
            p += 46 + nameLen + extraLen + commentLen;
        }
    }

    private void need(long at, long len, String what) {
        if (at < 0 || len < 0 || at > seg.byteSize() || len > seg.byteSize() - at) {
            throw bad(what + " at offset " + at + " (+" + len + " bytes) lies outside the file (" + seg.byteSize() + " bytes)");
        }
    }

    private int u16(long at) {
        need(at, 2, "field");
        return seg.get(LE_SHORT, at) & 0xffff;
    }

    private long u32(long at) {
        need(at, 4, "field");
        return seg.get(LE_INT, at) & 0xffffffffL;
    }

    private CheckpointException bad(String msg) { return new CheckpointException(src + ": " + msg); }
}
