package org.deltadit.weights;

import java.nio.file.Path;
import java.util.function.Consumer;
import org.deltadit.engine.DType;

/** {@code dit quantize}: the same model with its transformer-block linears weight-only INT8 ({@link ModelExport}). */
public final class Int8Export {
    private Int8Export() {}

    /** What was written. */
    public record Result(Path weights, int quantized, int kept, long bytesBefore, long bytesAfter) {}

    public static Result run(Path model, Path out, int groupSize, Consumer<String> progress) {
        if (groupSize < 0) throw new IllegalArgumentException("--group-size: " + groupSize + " (0 = per output channel, or a positive divisor of each weight's inputs)");
        ModelExport.Written w = ModelExport.run(model, out, Int8Weights.CONFIG_FIELD, Int8Weights.marker(groupSize), (ck, in) -> {
            StateDict sd = ck.weights();
            if (sd.quantizedCount() > 0) throw new IllegalArgumentException(sd.source() + ": already INT8 (" + sd.quantizedCount() + " tensors with scales)");
            // quantized as written, one weight at a time: no quantized copy of the model is held (a BF16 DiT-XL/2 took
            // 4.0 GB of peak RSS when it was)
            java.util.Map<String, DType> as = new java.util.LinkedHashMap<>();
            for (TensorEntry e : sd.entries()) {
                if (!Int8Weights.eligible(e.name(), e.shape())) continue;
                Int8Weights.checkGroup(e.name(), e.shape(), groupSize); // before any progress line
                as.put(e.name(), DType.I8);
            }
            if (as.isEmpty()) throw new IllegalArgumentException(sd.source() + ": a " + ck.format().description() + " has no transformer-block linear weights to quantize");
            progress.accept("quantize: " + as.size() + " of " + in.size() + " tensors of " + sd.source() + " to INT8 (" + (groupSize == 0 ? "per output channel" : "groups of " + groupSize) + ") …");
            return new ModelExport.Changed(as, groupSize);
        });
        return new Result(w.weights(), w.changed(), w.kept(), w.bytesBefore(), w.bytesAfter());
    }
}
