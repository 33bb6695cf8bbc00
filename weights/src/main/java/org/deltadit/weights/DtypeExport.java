package org.deltadit.weights;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.deltadit.engine.DType;

/**
 * {@code dit convert}: the same model with every floating-point tensor in another dtype ({@link ModelExport}), as
 * PyTorch's {@code model.to(torch.bfloat16)} and diffusers' {@code torch_dtype} give it. BF16 halves an F32
 * checkpoint (the official DiT-XL/2 {@code .pt} is F32) and its GEMMs stream half the bytes; values are rounded to
 * nearest, ties to even, as PyTorch rounds them. Tensors of other types (integer or F64 buffers, which DiT and PixArt
 * checkpoints do not hold) are written as F32, the type every loader reads them as.
 */
public final class DtypeExport {
    private DtypeExport() {}

    /** What was written. */
    public record Result(Path weights, DType dtype, int converted, int kept, long bytesBefore, long bytesAfter) {}

    /** {@code dtype}: f32, f16 or bf16 (any case). */
    public static DType parse(String dtype) {
        return switch (dtype.strip().toLowerCase(Locale.ROOT)) {
            case "f32", "float32", "fp32" -> DType.F32;
            case "f16", "float16", "fp16" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new IllegalArgumentException("--dtype: '" + dtype + "' (f32, f16 or bf16; INT8 weights: dit quantize)");
        };
    }

    public static Result run(Path model, Path out, DType to, Consumer<String> progress) {
        if (to != DType.F32 && to != DType.F16 && to != DType.BF16) throw new IllegalArgumentException("--dtype: " + to + " (f32, f16 or bf16; INT8 weights: dit quantize)");
        ModelExport.Written w = ModelExport.run(model, out, null, null, (ck, in) -> {
            StateDict sd = ck.weights();
            if (sd.quantizedCount() > 0) throw new IllegalArgumentException(sd.source() + ": INT8 weights (" + sd.quantizedCount() + " tensors with scales); convert the model they were quantized from");
            // the mapped views as they are, each written in the new dtype a chunk at a time: no converted copy held
            Map<String, DType> as = new LinkedHashMap<>();
            int floats = 0;
            for (TensorEntry e : sd.entries()) {
                DType from = e.type().engineType();
                if (from == null) continue;
                floats++;
                if (from != to) as.put(e.name(), to);
            }
            if (as.isEmpty()) throw new IllegalArgumentException(sd.source() + ": " + (floats == 0 ? "no floating-point tensors" : "every floating-point tensor is already " + to));
            progress.accept("convert: " + as.size() + " of " + in.size() + " tensors of " + sd.source() + " to " + to + " …");
            return new ModelExport.Changed(as, 0);
        });
        return new Result(w.weights(), to, w.changed(), w.kept(), w.bytesBefore(), w.bytesAfter());
    }
}
