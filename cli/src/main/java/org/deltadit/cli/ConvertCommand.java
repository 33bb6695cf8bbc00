package org.deltadit.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.deltadit.weights.DtypeExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code dit convert}: a checkpoint's floating-point tensors in another dtype (an F32 .pt to BF16 safetensors). */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Write a model with every floating-point tensor in another dtype (e.g. the official F32 DiT-XL/2 .pt as BF16 "
                + "safetensors: half the bytes); every command reads the result with --model.")
final class ConvertCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "weights file, folder, or diffusers repository")
    Path model;

    @Option(names = "--out", required = true, description = "new (or empty) folder for the converted model")
    Path out;

    @Option(names = "--dtype", required = true, description = "f32, f16 or bf16 (rounded to nearest, ties to even)")
    String dtype;

    @Override
    public Integer call() {
        long t0 = System.nanoTime();
        DtypeExport.Result r = DtypeExport.run(model, out, DtypeExport.parse(dtype), System.err::println);
        System.out.printf(Locale.ROOT, "converted %d tensors to %s, kept %d as stored: %s (%s, was %s) in %.1f s%n",
                r.converted(), r.dtype(), r.kept(), r.weights(), InfoCommand.human(r.bytesAfter()), InfoCommand.human(r.bytesBefore()), (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
