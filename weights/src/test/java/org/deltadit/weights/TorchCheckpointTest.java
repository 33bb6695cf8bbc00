package org.deltadit.weights;

import static org.deltadit.weights.Fixtures.fails;
import static org.deltadit.weights.Fixtures.path;
import static org.deltadit.weights.Fixtures.sameTensors;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.deltadit.engine.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** torch.save files (made by PyTorch 1.13 in tools/fixtures) against the same tensors written as safetensors by our Python writer. */
class TorchCheckpointTest {
    @TempDir Path dir;

    @Test
    void plainStateDictMatchesItsSafetensorsTwin() {
        for (String n : new String[] {"tiny_dit", "tiny_dit_f16", "tiny_dit_bf16"}) {
            try (StateDict pt = TorchCheckpoint.open(path(n + ".pt"), null); StateDict st = Safetensors.open(path(n + ".safetensors"))) {
                sameTensors(st, pt);
            }
        }
    }

    @Test
    void nestedCheckpointPicksEmaByDefaultAndOthersByKey() {
        try (StateDict ema = TorchCheckpoint.open(path("tiny_dit_train.pt"), null); StateDict want = Safetensors.open(path("tiny_dit_ema.safetensors"))) {
            sameTensors(want, ema);
            assertEquals("ema (default)", ema.details().get("weights key"));
        }
        try (StateDict model = TorchCheckpoint.open(path("tiny_dit_train.pt"), "model"); StateDict want = Safetensors.open(path("tiny_dit.safetensors"))) {
            sameTensors(want, model);
        }
        fails(() -> TorchCheckpoint.open(path("tiny_dit_train.pt"), "opt"), "tiny_dit_train.pt", "not a tensor");
        fails(() -> TorchCheckpoint.open(path("tiny_dit_train.pt"), "nope"), "--weights-key 'nope'", "model, ema, opt, args, steps");
        fails(() -> TorchCheckpoint.open(path("tiny_dit_train.pt"), "args"), "--weights-key 'args' is not a dict");
    }

    @Test
    void storageViewsKeepOffsetsAndStridesWithoutCopying() {
        try (StateDict pt = TorchCheckpoint.open(path("views.pt"), null); StateDict st = Safetensors.open(path("views.safetensors"))) {
            sameTensors(st, pt);
            Tensor base = pt.tensor("base"), tr = pt.tensor("transposed"), same = pt.tensor("same");
            assertEquals(base.segment().address(), tr.segment().address(), "the transpose views the same storage");
            assertEquals(base.segment().address(), same.segment().address(), "a repeated tensor is not stored twice");
            assertArrayEquals(new long[] {1, 7}, tr.strides());
            assertEquals(StoredType.I64, pt.entry("ints").type());
        }
    }

    @Test
    void forbiddenGlobalsAreRefusedByName() {
        fails(() -> TorchCheckpoint.open(path("evil_os_system.pt"), null), "evil_os_system.pt", "'os.system'", "not allowed");
        fails(() -> TorchCheckpoint.open(path("evil_eval.pt"), null), "evil_eval.pt", "'builtins.eval'", "not allowed");
    }

    Path zip(String name, String entry, byte[] content) throws IOException {
        Path f = dir.resolve(name);
        try (OutputStream o = Files.newOutputStream(f); ZipOutputStream z = new ZipOutputStream(o)) {
            z.putNextEntry(new ZipEntry(entry));
            z.write(content);
            z.closeEntry();
        }
        return f;
    }

    @Test
    void aBinShardIndexLoadsItsTorchShardsAsOneStateDict() throws IOException {
        // an older Hugging Face repository: pytorch_model-0000N-of-00002.bin and pytorch_model.bin.index.json
        Path repo = Files.createDirectories(dir.resolve("t5"));
        Files.copy(path("tiny_dit.pt"), repo.resolve("pytorch_model-00001-of-00002.bin"));
        Files.copy(path("views.pt"), repo.resolve("pytorch_model-00002-of-00002.bin"));
        StringBuilder map = new StringBuilder();
        try (StateDict a = TorchCheckpoint.open(path("tiny_dit.pt"), null); StateDict b = TorchCheckpoint.open(path("views.pt"), null)) {
            for (TensorEntry e : a.entries()) map.append(map.isEmpty() ? "" : ",").append('"').append(e.name()).append("\":\"pytorch_model-00001-of-00002.bin\"");
            for (TensorEntry e : b.entries()) map.append(",\"").append(e.name()).append("\":\"pytorch_model-00002-of-00002.bin\"");
            Files.writeString(repo.resolve("pytorch_model.bin.index.json"), "{\"metadata\":{},\"weight_map\":{" + map + "}}");
            assertEquals(repo.resolve("pytorch_model.bin.index.json"), Checkpoint.pickWeights(repo), "the index, not one shard");
            try (StateDict all = Checkpoint.read(Checkpoint.pickWeights(repo), null)) {
                assertEquals(a.size() + b.size(), all.size());
                for (String k : a.keys()) assertArrayEquals(a.entry(k).toFloatArray(), all.entry(k).toFloatArray(), k);
                assertArrayEquals(b.tensor("transposed").toFloatArray(), all.tensor("transposed").toFloatArray(), "a strided view in a shard");
            }
        }
        // a safetensors copy beside it is preferred, as elsewhere
        SafetensorsWriter.copy(path("tiny_dit.safetensors"), repo.resolve("model.safetensors"), k -> true, "");
        assertEquals(repo.resolve("model.safetensors"), Checkpoint.pickWeights(repo));
    }

    @Test
    void objectsNoStateDictNeedsStayOpaqueAndAttacksAreStillRefused() throws IOException {
        // tiny_dit_train.pt's "args" (an argparse.Namespace with a path, a numpy scalar and a set) is passed over above;
        // where a tensor is expected, the opaque object is named
        byte[] namespace = "\u0080\u0002}X\u0001\u0000\u0000\u0000wcargparse\nNamespace\n)\u0081}bs.".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        fails(() -> TorchCheckpoint.open(zip("ns.pt", "archive/data.pkl", namespace), "nope"), "ns.pt", "top-level keys: w");
        fails(() -> TorchCheckpoint.open(zip("ns2.pt", "archive/data.pkl", wrap(namespace)), "sd"), "ns2.pt", "entry 'w' is not a tensor (a argparse.Namespace)");
        for (String g : new String[] {"builtins\ngetattr", "__builtin__\nexec", "functools\npartial", "os.path\njoin", "posix\nsystem"}) {
            byte[] attack = ("\u0080\u0002c" + g + "\n)R.").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
            fails(() -> TorchCheckpoint.open(zip("g.pt", "archive/data.pkl", attack), null), "'" + g.replace('\n', '.') + "'", "not allowed");
        }
    }

    /** {"sd": the dict that {@code pickle} holds}: its PROTO and STOP stripped and nested one level down. */
    private static byte[] wrap(byte[] pickle) {
        byte[] head = "\u0080\u0002}X\u0002\u0000\u0000\u0000sd".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        byte[] out = new byte[head.length + pickle.length - 2 - 1 + 2];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(pickle, 2, out, head.length, pickle.length - 3);
        out[out.length - 2] = 's';
        out[out.length - 1] = '.';
        return out;
    }

    @Test
    void brokenArchivesFailWithTheFileName() throws IOException {
        fails(() -> TorchCheckpoint.open(zip("nopkl.pt", "archive/version", "3".getBytes()), null), "nopkl.pt", "without data.pkl");
        // A deflated data.pkl is read too; this one names a forbidden global.
        fails(() -> TorchCheckpoint.open(zip("deflated.pt", "archive/data.pkl", "\u0080\u0002csubprocess\nPopen\n.".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)), null),
                "deflated.pt", "'subprocess.Popen'");
        fails(() -> TorchCheckpoint.open(zip("trunc.pt", "archive/data.pkl", new byte[] {(byte) 0x80, 2, 0x7d}), null), "trunc.pt", "pickle truncated");
        fails(() -> TorchCheckpoint.open(zip("missing.pt", "archive/data.pkl",
                "\u0080\u0002ctorch._utils\n_rebuild_tensor_v2\n(X\u0007\u0000\u0000\u0000storagectorch\nFloatStorage\nX\u0001\u0000\u0000\u00009X\u0003\u0000\u0000\u0000cpuK\u0004tQ".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)), null),
                "missing.pt", "storage '9' is missing");
        Path legacy = dir.resolve("legacy.pt");
        Files.write(legacy, new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46});
        fails(() -> TorchCheckpoint.open(legacy, null), "legacy.pt", "legacy");
        Path text = dir.resolve("text.pt");
        Files.writeString(text, "hello");
        fails(() -> TorchCheckpoint.open(text, null), "text.pt", "not a PyTorch zip");
        byte[] good = Files.readAllBytes(path("tiny_dit.pt"));
        Path cut = dir.resolve("cut.pt");
        Files.write(cut, java.util.Arrays.copyOf(good, good.length / 2));
        fails(() -> TorchCheckpoint.open(cut, null), "cut.pt");
    }
}
