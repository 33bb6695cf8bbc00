package org.deltadit.engine;

/**
 * The weights of one adaLN transformer block (DiT's adaLN-Zero, PixArt-α's adaLN-single): the fused q/k/v
 * projection, the attention's output projection, the two MLP layers, as PyTorch stores them ([out, in]),
 * and for PixArt-α a cross-attention between them; biases may be null. The modulation (shift, scale,
 * gate for attention, then for the MLP) comes per call, as it depends on the step's conditioning.
 */
public record AdaLnBlock(Tensor qkvWeight, Tensor qkvBias, Tensor projWeight, Tensor projBias,
                         Tensor fc1Weight, Tensor fc1Bias, Tensor fc2Weight, Tensor fc2Bias, Cross cross) {

    /** A cross-attention to a caption: q from the tokens [D, D], k and v fused from the caption [2D, D] (k first), proj [D, D]. */
    public record Cross(Tensor qWeight, Tensor qBias, Tensor kvWeight, Tensor kvBias, Tensor projWeight, Tensor projBias) {
        public Cross {
            if (qWeight == null || kvWeight == null || projWeight == null) throw new IllegalArgumentException("cross-attention: a weight is missing");
            int d = qWeight.rank() == 2 ? qWeight.dim(0) : -1;
            if (d <= 0 || qWeight.dim(1) != d || kvWeight.rank() != 2 || kvWeight.dim(0) != 2 * d || kvWeight.dim(1) != d || projWeight.rank() != 2
                    || projWeight.dim(0) != d || projWeight.dim(1) != d) {
                throw new IllegalArgumentException("cross-attention: q " + qWeight.shapeString() + ", kv " + kvWeight.shapeString() + ", proj " + projWeight.shapeString()
                        + " do not fit together ([D, D], [2D, D], [D, D])");
            }
            bias("cross q", qBias, d);
            bias("cross kv", kvBias, 2 * d);
            bias("cross proj", projBias, d);
        }
    }

    /** One block of a run of blocks ({@code Backend.adaLnBlocks}): its weights, its modulation [B, 6D], its caption kv [B, L, 2D] or null. */
    public record Call(AdaLnBlock weights, Tensor mod, Tensor kv) {
        public Call {
            if (weights == null || mod == null) throw new IllegalArgumentException("adaLN block call: weights and modulation are needed");
        }
    }

    /** A block without cross-attention (DiT). */
    public AdaLnBlock(Tensor qkvWeight, Tensor qkvBias, Tensor projWeight, Tensor projBias, Tensor fc1Weight, Tensor fc1Bias, Tensor fc2Weight, Tensor fc2Bias) {
        this(qkvWeight, qkvBias, projWeight, projBias, fc1Weight, fc1Bias, fc2Weight, fc2Bias, null);
    }

    public AdaLnBlock {
        if (qkvWeight == null || projWeight == null || fc1Weight == null || fc2Weight == null) throw new IllegalArgumentException("adaLN block: a weight is missing");
        int d = projWeight.rank() == 2 ? projWeight.dim(0) : -1;
        boolean ok = d > 0 && projWeight.dim(1) == d && qkvWeight.rank() == 2 && qkvWeight.dim(0) == 3 * d && qkvWeight.dim(1) == d
                && fc1Weight.rank() == 2 && fc1Weight.dim(1) == d && fc2Weight.rank() == 2 && fc2Weight.dim(0) == d && fc2Weight.dim(1) == fc1Weight.dim(0);
        if (!ok) {
            throw new IllegalArgumentException("adaLN block: qkv " + qkvWeight.shapeString() + ", proj " + projWeight.shapeString() + ", fc1 " + fc1Weight.shapeString()
                    + ", fc2 " + fc2Weight.shapeString() + " do not fit together ([3D, D], [D, D], [F, D], [D, F])");
        }
        bias("qkv", qkvBias, 3 * d);
        bias("proj", projBias, d);
        bias("fc1", fc1Bias, fc1Weight.dim(0));
        bias("fc2", fc2Bias, d);
        if (cross != null && cross.qWeight().dim(0) != d) throw new IllegalArgumentException("adaLN block: cross-attention of width " + cross.qWeight().dim(0) + " in a block of width " + d);
    }

    private static void bias(String what, Tensor b, int n) {
        if (b != null && (b.rank() != 1 || b.dim(0) != n)) throw new IllegalArgumentException("adaLN block: " + what + " bias " + b.shapeString() + " (needs [" + n + "])");
    }

    /** The hidden size D. */
    public int hidden() { return projWeight.dim(0); }

    /** The MLP's inner size. */
    public int mlpHidden() { return fc1Weight.dim(0); }
}
