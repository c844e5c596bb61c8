#!/usr/bin/env python3
"""PyTorch peer for bench/bench_conv_gpu: the same CD-1 step of a convolutional
RBM with probabilistic max-pooling (Lee et al. 2009), so the GPU comparison is
algorithm for algorithm. Run on the device only (never in CI):

    python3 bench/peers/torch_crbm.py --case mnist --batch 256 --iters 200
    python3 bench/peers/torch_crbm.py --case large --batch 128 --iters 100

One step: I0 = b + conv2d(v0, W); pooled softmax over each PxP block with an
extra "off" logit 0 (probabilities and one multinomial draw per block);
v1 = sigm(c + conv_transpose2d(h_sample, W)); I1 = b + conv2d(v1, W); dW from
conv2d-gradient correlations normalised by the hidden positions; momentum SGD.
The hidden map is cropped to a multiple of P, as in libcrbm. Prints samples/s.
"""
import argparse
import time

import torch
import torch.nn.functional as F

CASES = {"mnist": (1, 28, 28, 40, 12, 2), "large": (3, 64, 64, 64, 7, 2)}


def pooled_probs_and_sample(logits, pool):
    n, k, h, w = logits.shape
    blocks = logits.view(n, k, h // pool, pool, w // pool, pool).permute(0, 1, 2, 4, 3, 5)
    blocks = blocks.reshape(n, k, h // pool, w // pool, pool * pool)
    with_off = torch.cat([blocks, torch.zeros_like(blocks[..., :1])], dim=-1)
    probs = torch.softmax(with_off, dim=-1)  # stable: subtracts the max, "off" included
    draw = torch.multinomial(probs.reshape(-1, pool * pool + 1), 1).view(n, k, h // pool, w // pool)
    states = F.one_hot(draw, pool * pool + 1)[..., : pool * pool].to(logits.dtype)

    def unblock(x):
        x = x.view(n, k, h // pool, w // pool, pool, pool).permute(0, 1, 2, 4, 3, 5)
        return x.reshape(n, k, h, w)

    return unblock(probs[..., : pool * pool]), unblock(states)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", choices=CASES, default="mnist")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--tf32", action="store_true", help="allow TF32 (libcrbm uses strict FP32)")
    args = ap.parse_args()
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.benchmark = True
    c, H, W, K, Fs, P = CASES[args.case]
    dev = torch.device("cuda")
    hh, wh = (H - Fs + 1) // P * P, (W - Fs + 1) // P * P
    v0 = (torch.rand(args.batch, c, H, W, device=dev) < 0.3).float()
    Wt = 0.01 * torch.randn(K, c, Fs, Fs, device=dev)
    hb = torch.zeros(K, device=dev)
    vb = torch.zeros(c, device=dev)
    vel = [torch.zeros_like(Wt), torch.zeros_like(hb), torch.zeros_like(vb)]
    lr, mom, l2, target, lam = 0.05, 0.9, 0.01, 0.02, 5.0
    q = torch.zeros(K, device=dev)
    positions = hh * wh

    def step():
        nonlocal q
        i0 = (F.conv2d(v0, Wt) + hb.view(1, -1, 1, 1))[:, :, :hh, :wh]
        h0, hs = pooled_probs_and_sample(i0, P)
        v1 = torch.sigmoid(F.conv_transpose2d(F.pad(hs, (0, W - Fs + 1 - wh, 0, H - Fs + 1 - hh)), Wt)
                           + vb.view(1, -1, 1, 1))
        i1 = (F.conv2d(v1, Wt) + hb.view(1, -1, 1, 1))[:, :, :hh, :wh]
        h1, _ = pooled_probs_and_sample(i1, P)
        n = v0.shape[0]

        def corr(v, h):  # dW[k,c,a,b] = sum_n sum_ij v[n,c,i+a,j+b] h[n,k,i,j]
            return torch.nn.grad.conv2d_weight(v[:, :, : hh + Fs - 1, : wh + Fs - 1], Wt.shape, h)

        dW = (corr(v0, h0) - corr(v1, h1)) / (n * positions)
        dh = (h0.sum((0, 2, 3)) - h1.sum((0, 2, 3))) / (n * positions)
        dv = (v0.sum((0, 2, 3)) - v1.sum((0, 2, 3))) / (n * H * W)
        q = 0.9 * q + 0.1 * h0.mean((0, 2, 3))
        dh = dh + lam * (target - q)
        for p, vl, g, decay in ((Wt, vel[0], dW, l2), (hb, vel[1], dh, 0.0), (vb, vel[2], dv, 0.0)):
            vl.mul_(mom).add_(lr * (g - decay * p))
            p.add_(vl)

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.iters):
        step()
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    print(f"torch CD-1 {args.case} batch {args.batch}: {args.iters * args.batch / elapsed:,.0f} samples/s "
          f"({1000 * elapsed / args.iters:.3f} ms/step, tf32={args.tf32})")


if __name__ == "__main__":
    main()
