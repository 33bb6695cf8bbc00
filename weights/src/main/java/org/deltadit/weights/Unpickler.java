package org.deltadit.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A restricted unpickler for PyTorch state dicts. It is a stack machine over the binary opcodes
 * (protocols 2–5) that builds only plain data (dicts, lists, tuples, strings, numbers), storages
 * and tensor views; nothing is ever executed. The globals a state dict needs are on an allow-list.
 * A checkpoint also carries objects no state dict needs (DiT's train.py saves its argparse.Namespace,
 * holding paths and numpy scalars): any other global becomes an inert {@link Opaque} that the loader
 * passes over, except the ones only an attack names — {@code os.system}, {@code builtins.eval},
 * {@code subprocess.Popen} and the like — which refuse the whole file by name.
 */
final class Unpickler {
    /** The globals a state dict needs. */
    enum Global { ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE }

    /** A torch storage class such as torch.FloatStorage, as the persistent id names it. */
    record StorageClass(StoredType type) {}

    /** A global outside the allow-list, named and never resolved: calling or instantiating it gives an {@link Opaque}. */
    record OpaqueGlobal(String name) {}

    /** An object of a class outside the allow-list (e.g. argparse.Namespace): its arguments and state are dropped. */
    record Opaque(String global) {}

    /** A Python tuple. */
    record Tuple(Object[] items) {}

    /** A tensor as _rebuild_tensor_v2 describes it: a strided view of a storage. */
    record TorchTensor(StoredType type, int[] shape, long[] strides, long offset, MemorySegment storage, String storageKey) {}

    /** A storage resolved from its persistent id: the bytes of {@code data/<key>}. */
    record Storage(StoredType type, String key, long numel, MemorySegment bytes) {}

    private static final Map<String, Object> ALLOWED = new HashMap<>();

    static {
        ALLOWED.put("collections.OrderedDict", Global.ORDERED_DICT);
        ALLOWED.put("torch._utils._rebuild_tensor_v2", Global.REBUILD_TENSOR_V2);
        ALLOWED.put("torch._utils._rebuild_parameter", Global.REBUILD_PARAMETER);
        ALLOWED.put("torch._utils._rebuild_parameter_with_state", Global.REBUILD_PARAMETER_WITH_STATE);
        Object[][] storages = {{"FloatStorage", StoredType.F32}, {"HalfStorage", StoredType.F16}, {"BFloat16Storage", StoredType.BF16},
                {"DoubleStorage", StoredType.F64}, {"LongStorage", StoredType.I64}, {"IntStorage", StoredType.I32},
                {"ShortStorage", StoredType.I16}, {"CharStorage", StoredType.I8}, {"ByteStorage", StoredType.U8}, {"BoolStorage", StoredType.BOOL}};
        for (Object[] s : storages) ALLOWED.put("torch." + s[0], new StorageClass((StoredType) s[1]));
    }

    // modules whose globals only an attack pickles; refusing them names the attempt instead of passing over it
    private static final java.util.Set<String> DENIED_MODULES = java.util.Set.of("os", "posix", "nt", "subprocess", "sys", "shutil", "socket",
            "pickle", "_pickle", "importlib", "runpy", "code", "codeop", "pty", "ctypes", "marshal", "webbrowser", "commands", "multiprocessing",
            "signal", "pdb", "timeit", "shelve", "tempfile", "io", "_io", "threading", "asyncio", "http", "urllib", "operator", "functools", "types");
    // of the builtins, only plain data types may appear (a set in saved arguments); eval, exec, getattr, open … refuse the file
    private static final java.util.Set<String> HARMLESS_BUILTINS = java.util.Set.of("set", "frozenset", "slice", "complex", "bytearray", "range");

    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble BE_DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final Object MARK = new Object();

    private final String src;
    private final MemorySegment in;
    private final Function<Tuple, Storage> storages;
    private long pos;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final HashMap<Long, Object> memo = new HashMap<>();

    private Unpickler(String src, MemorySegment in, Function<Tuple, Storage> storages) {
        this.src = src;
        this.in = in;
        this.storages = storages;
    }

    /** Unpickles {@code pickle}; {@code storages} resolves each persistent id to its bytes. */
    static Object load(String src, MemorySegment pickle, Function<Tuple, Storage> storages) {
        return new Unpickler(src, pickle, storages).run();
    }

    private Object run() {
        while (true) {
            long at = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v > 5) throw bad("pickle protocol " + v + " at offset " + at + " is newer than 5");
                }
                case 0x95 -> skip(8); // FRAME: framing only
                case 0x2e -> { // STOP
                    if (stack.size() != 1) throw bad("pickle stops with " + stack.size() + " values on the stack");
                    return stack.get(0);
                }
                case 0x28 -> push(MARK);
                case 0x30 -> pop(); // POP
                case 0x31 -> popMark(); // POP_MARK
                case 0x32 -> push(peek()); // DUP
                case 0x4e -> push(null); // NONE
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 0x4a -> push((long) in.get(LE_INT, take(4))); // BININT
                case 0x4b -> push((long) u8()); // BININT1
                case 0x4d -> push((long) (u8() | (u8() << 8))); // BININT2
                case 0x8a -> push(longN(u8())); // LONG1
                case 0x8b -> push(longN(len32())); // LONG4
                case 0x47 -> push(in.get(BE_DOUBLE, take(8))); // BINFLOAT
                case 0x58 -> push(string(len32())); // BINUNICODE
                case 0x8c -> push(string(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(string(len64())); // BINUNICODE8
                case 0x54 -> push(string(len32())); // BINSTRING (protocol 1; read as latin-1 compatible UTF-8)
                case 0x55 -> push(string(u8())); // SHORT_BINSTRING
                case 0x42 -> push(bytes(len32())); // BINBYTES
                case 0x43 -> push(bytes(u8())); // SHORT_BINBYTES
                case 0x8e -> push(bytes(len64())); // BINBYTES8
                case 0x29 -> push(new Tuple(new Object[0])); // EMPTY_TUPLE
                case 0x85 -> push(new Tuple(new Object[] {pop()})); // TUPLE1
                case 0x86 -> { Object b = pop(), a = pop(); push(new Tuple(new Object[] {a, b})); } // TUPLE2
                case 0x87 -> { Object c = pop(), b = pop(), a = pop(); push(new Tuple(new Object[] {a, b, c})); } // TUPLE3
                case 0x74 -> push(new Tuple(popMark().toArray())); // TUPLE
                case 0x5d -> push(new ArrayList<>()); // EMPTY_LIST
                case 0x6c -> push(new ArrayList<>(popMark())); // LIST
                case 0x61 -> { Object v = pop(); list(peek()).add(v); } // APPEND
                case 0x65 -> { List<Object> items = popMark(); list(peek()).addAll(items); } // APPENDS
                case 0x7d -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case 0x64 -> { Map<Object, Object> m = new LinkedHashMap<>(); putAll(m, popMark()); push(m); } // DICT
                case 0x73 -> { Object v = pop(), k = pop(); dict(peek()).put(key(k), v); } // SETITEM
                case 0x75 -> { List<Object> items = popMark(); putAll(dict(peek()), items); } // SETITEMS
                case 0x71 -> memo.put((long) u8(), peek()); // BINPUT
                case 0x72 -> memo.put(len32(), peek()); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                case 0x68 -> push(memoGet(u8(), at)); // BINGET
                case 0x6a -> push(memoGet(len32(), at)); // LONG_BINGET
                case 0x63 -> push(global(line(), line())); // GLOBAL
                case 0x93 -> { Object name = pop(), module = pop(); push(global(str(module), str(name))); } // STACK_GLOBAL
                case 0x51 -> push(persistent(pop(), at)); // BINPERSID
                case 0x52 -> { Object args = pop(), fn = pop(); push(reduce(fn, args, at)); } // REDUCE
                case 0x81 -> { Object args = pop(), cls = pop(); push(instance(cls, args, at)); } // NEWOBJ
                case 0x92 -> { pop(); Object args = pop(), cls = pop(); push(instance(cls, args, at)); } // NEWOBJ_EX (keyword arguments dropped)
                case 0x62 -> { pop(); peek(); } // BUILD: state on an OrderedDict (its _metadata) or an Opaque is dropped
                case 0x69 -> throw bad("pickle creates an instance of global '" + line() + "." + line() + "', which is not allowed");
                default -> throw bad("pickle opcode 0x" + Integer.toHexString(op) + " at offset " + at + " is not supported in a state dict");
            }
        }
    }

    private Object global(String module, String name) {
        String full = module + "." + name;
        Object g = ALLOWED.get(full);
        if (g != null) return g;
        String top = module.contains(".") ? module.substring(0, module.indexOf('.')) : module;
        boolean builtin = module.equals("builtins") || module.equals("__builtin__");
        if (DENIED_MODULES.contains(top) || (builtin && !HARMLESS_BUILTINS.contains(name))) {
            throw bad("pickle names global '" + full + "', which is not allowed in a state dict (nothing was executed)");
        }
        return new OpaqueGlobal(full);
    }

    /** NEWOBJ: only a class outside the allow-list is instantiated this way in a checkpoint; it stays opaque. */
    private Object instance(Object cls, Object args, long at) {
        if (!(cls instanceof OpaqueGlobal g) || !(args instanceof Tuple)) throw bad("NEWOBJ at offset " + at + " on something that is not a class with arguments");
        return new Opaque(g.name());
    }

    private Object reduce(Object fn, Object args, long at) {
        if (!(args instanceof Tuple t)) throw bad("REDUCE at offset " + at + " without an argument tuple");
        Object[] a = t.items();
        if (fn == Global.ORDERED_DICT) {
            if (a.length != 0) throw bad("OrderedDict with arguments at offset " + at);
            return new LinkedHashMap<>();
        }
        if (fn == Global.REBUILD_PARAMETER || fn == Global.REBUILD_PARAMETER_WITH_STATE) {
            if (a.length < 1 || !(a[0] instanceof TorchTensor)) throw bad("_rebuild_parameter at offset " + at + " without a tensor");
            return a[0];
        }
        if (fn == Global.REBUILD_TENSOR_V2) return rebuildTensor(a, at);
        if (fn instanceof OpaqueGlobal g) return new Opaque(g.name()); // e.g. numpy.dtype('f8'): nothing is called
        throw bad("REDUCE at offset " + at + " calls " + (fn instanceof StorageClass ? "a storage class" : "something that is not callable"));
    }

    /** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
    private TorchTensor rebuildTensor(Object[] a, long at) {
        if (a.length < 4 || !(a[0] instanceof Storage s) || !(a[1] instanceof Long off) || !(a[2] instanceof Tuple size) || !(a[3] instanceof Tuple stride)
                || size.items().length != stride.items().length || size.items().length > 16) {
            throw bad("malformed _rebuild_tensor_v2 arguments at offset " + at);
        }
        int rank = size.items().length;
        int[] shape = new int[rank];
        long[] strides = new long[rank];
        long last = off;
        boolean empty = false;
        for (int d = 0; d < rank; d++) {
            if (!(size.items()[d] instanceof Long n) || !(stride.items()[d] instanceof Long st) || n < 0 || n > Integer.MAX_VALUE || st < 0 || st > Integer.MAX_VALUE) {
                throw bad("tensor at offset " + at + " has a bad size or stride");
            }
            shape[d] = (int) (long) n;
            strides[d] = st;
            if (n == 0) empty = true;
            else last += (n - 1) * st;
        }
        if (off < 0 || (!empty && last >= s.numel())) {
            throw bad("tensor at offset " + at + " reaches element " + last + " of storage '" + s.key() + "', which holds " + s.numel());
        }
        return new TorchTensor(s.type(), shape, strides, off, s.bytes(), s.key());
    }

    private Object persistent(Object pid, long at) {
        if (!(pid instanceof Tuple t)) throw bad("persistent id at offset " + at + " is not a tuple");
        return storages.apply(t);
    }

    // ---- reading ----------------------------------------------------------------------------

    private long take(long n) {
        if (n < 0 || n > in.byteSize() - pos) throw bad("pickle truncated at offset " + pos + " (needs " + n + " more bytes)");
        long at = pos;
        pos += n;
        return at;
    }

    private void skip(long n) { take(n); }

    private int u8() { return in.get(ValueLayout.JAVA_BYTE, take(1)) & 0xff; }

    private long len32() { return in.get(LE_INT, take(4)) & 0xffffffffL; }

    private long len64() {
        long n = in.get(LE_LONG, take(8));
        if (n < 0) throw bad("negative length in pickle at offset " + (pos - 8));
        return n;
    }

    private String string(long n) {
        long at = take(n);
        if (n > Integer.MAX_VALUE - 16) throw bad("string too long at offset " + at);
        return new String(in.asSlice(at, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    private byte[] bytes(long n) {
        long at = take(n);
        if (n > Integer.MAX_VALUE - 16) throw bad("bytes too long at offset " + at);
        return in.asSlice(at, n).toArray(ValueLayout.JAVA_BYTE);
    }

    /** A newline-terminated ASCII line (GLOBAL's module and name). */
    private String line() {
        long start = pos;
        while (true) {
            if (pos >= in.byteSize() || pos - start > 1024) throw bad("unterminated name in pickle at offset " + start);
            if (in.get(ValueLayout.JAVA_BYTE, pos++) == '\n') break;
        }
        return new String(in.asSlice(start, pos - 1 - start).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    private Object longN(long n) {
        long at = take(n);
        if (n == 0) return 0L;
        if (n > 64) throw bad("integer of " + n + " bytes at offset " + at);
        byte[] le = in.asSlice(at, n).toArray(ValueLayout.JAVA_BYTE);
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) be[i] = le[le.length - 1 - i];
        BigInteger v = new BigInteger(be);
        if (v.bitLength() > 63) throw bad("integer out of range at offset " + at);
        return v.longValue();
    }

    // ---- stack ------------------------------------------------------------------------------

    private void push(Object o) { stack.add(o); }

    private Object pop() {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) throw bad("pickle stack underflow at offset " + pos);
        return stack.remove(stack.size() - 1);
    }

    private Object peek() {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) throw bad("pickle stack underflow at offset " + pos);
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark() {
        int m = stack.lastIndexOf(MARK);
        if (m < 0) throw bad("pickle has no MARK before offset " + pos);
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private Object memoGet(long key, long at) {
        if (!memo.containsKey(key)) throw bad("pickle refers to memo " + key + " before it is set (offset " + at + ")");
        return memo.get(key);
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) {
        if (o instanceof List<?> l) return (List<Object>) l;
        throw bad("APPEND to something that is not a list at offset " + pos);
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) {
        if (o instanceof Map<?, ?> m) return (Map<Object, Object>) m;
        throw bad("SETITEM on something that is not a dict at offset " + pos);
    }

    private void putAll(Map<Object, Object> m, List<Object> items) {
        if (items.size() % 2 != 0) throw bad("odd number of dict items at offset " + pos);
        for (int i = 0; i < items.size(); i += 2) m.put(key(items.get(i)), items.get(i + 1));
    }

    /** Dict keys must be hashable plain values. */
    private Object key(Object k) {
        if (k == null || k instanceof String || k instanceof Long || k instanceof Boolean || k instanceof Double) return k;
        if (k instanceof Tuple t) return java.util.Arrays.asList(t.items());
        throw bad("unhashable dict key at offset " + pos);
    }

    private String str(Object o) {
        if (o instanceof String s) return s;
        throw bad("STACK_GLOBAL with a name that is not a string at offset " + pos);
    }

    private CheckpointException bad(String msg) { return new CheckpointException(src + ": " + msg); }
}
