package org.deltadit.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** Views share storage and index correctly; copies convert; misuse fails with the op and shapes. */
class TensorTest {

    static Tensor iota(int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] a = new float[(int) t.numel()];
        for (int i = 0; i < a.length; i++) a[i] = i;
        return Tensor.of(a, shape);
    }

    @Test
    void permuteSliceSelectAreViews() {
        Tensor t = iota(2, 3, 4);
        Tensor p = t.permute(2, 0, 1);
        assertArrayEquals(new int[] {4, 2, 3}, p.shape());
        assertEquals(t.get(1, 2, 3), p.get(3, 1, 2));
        assertFalse(p.isContiguous());
        assertSame(t.segment(), p.segment());
        Tensor s = t.slice(2, 1, 3);
        assertArrayEquals(new int[] {2, 3, 2}, s.shape());
        assertEquals(t.get(1, 1, 2), s.get(1, 1, 1));
        Tensor sel = t.select(1, 2);
        assertArrayEquals(new int[] {2, 4}, sel.shape());
        assertEquals(t.get(1, 2, 0), sel.get(1, 0));
        sel.set(-5f, 0, 0);
        assertEquals(-5f, t.get(0, 2, 0), "a view writes through");
    }

    @Test
    void reshapeCopiesOnlyWhenNeeded() {
        Tensor t = iota(2, 6);
        assertSame(t.segment(), t.reshape(3, -1).segment());
        Tensor tr = t.transpose(0, 1);
        Tensor flat = tr.reshape(-1);
        assertEquals(tr.get(1, 1), flat.get(3));
        assertTrue(flat.isContiguous());
    }

    @Test
    void splitChunkConcat() {
        Tensor t = iota(2, 6);
        Tensor[] parts = t.split(1, 1, 2, 3);
        assertEquals(3, parts[2].dim(1));
        assertEquals(t.get(1, 3), parts[2].get(1, 0));
        Tensor back = Tensor.concat(1, parts);
        assertArrayEquals(t.toFloatArray(), back.toFloatArray());
        Tensor[] c = t.chunk(1, 3);
        assertEquals(t.get(0, 5), c[2].get(0, 1));
        Tensor rows = Tensor.concat(0, t, t);
        assertArrayEquals(new int[] {4, 6}, rows.shape());
        assertEquals(t.get(1, 4), rows.get(3, 4));
    }

    @Test
    void wrapsForeignMemoryZeroCopy() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4 * 6);
            for (int i = 0; i < 6; i++) seg.setAtIndex(DType.FLOAT, i, i * 2f);
            Tensor t = Tensor.wrap(seg, DType.F32, 2, 3);
            assertEquals(10f, t.get(1, 2));
            assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(seg, DType.F32, 7));
        }
    }

    @Test
    void unsqueezeAndBroadcastHelpers() {
        Tensor t = iota(3).unsqueeze(0).unsqueeze(-1);
        assertArrayEquals(new int[] {1, 3, 1}, t.shape());
        assertArrayEquals(new int[] {2, 3, 4}, Strided.broadcastShape(new int[] {2, 1, 4}, new int[] {3, 1}));
        assertEquals(null, Strided.broadcastShape(new int[] {2, 3}, new int[] {4}));
    }

    @Test
    void misuseNamesTheOpAndShapes() {
        Tensor t = iota(2, 3);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> t.reshape(4, 2)), "reshape", "[2, 3]", "[4, 2]");
        assertMessage(assertThrows(IndexOutOfBoundsException.class, () -> t.slice(1, 2, 5)), "slice", "[2, 3]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> t.permute(0, 0)), "permute");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> t.dim(2)), "dim", "[2, 3]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Tensor.concat(0, t, iota(2, 4))), "concat", "[2, 3]", "[2, 4]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> t.copyFrom(iota(3, 2))), "copy", "[2, 3]", "[3, 2]");
        assertMessage(assertThrows(IndexOutOfBoundsException.class, () -> t.get(2, 0)), "get", "[2, 3]");
    }

    static void assertMessage(Throwable e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' lacks '" + p + "'");
    }
}
