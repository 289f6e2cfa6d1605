"""The dalnas network of a genome, written independently in PyTorch (Python).

Used by bench/train_throughput to time the same network and training step in PyTorch,
and usable to cross-check the C++ implementation. Mirrors src/nn (see src/core/genome.h
for the genome grammar and src/nn/network.h for the decoder).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

ACTS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "gelu": nn.GELU, "hswish": nn.Hardswish}


def parse_genome(text):
    tokens = text.split("_")
    blocks, pools, dec = [], [], None
    for i, tok in enumerate(tokens):
        if tok in ("max", "avg"):
            pools.append(tok)
        elif tok.startswith("dec-"):
            dec = int(tok[4:])
        else:
            parts = tok.split("-")
            b = {"type": parts[0], "width": int(parts[1]), "kernel": int(parts[2][1:])}
            rest = parts[3:]
            if parts[0] in ("MBConv", "MBConvNoRes"):
                b["expansion"] = int(rest[0][1:])
                rest = rest[1:]
            b["act"] = rest[0]
            blocks.append(b)
    return blocks, pools, dec


def conv_bn_act(cin, cout, k, act, groups=1):
    layers = [nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(ACTS[act]())
    return nn.Sequential(*layers)


class ConvAct(nn.Module):
    def __init__(self, cin, b):
        super().__init__()
        self.conv = nn.Conv2d(cin, b["width"], b["kernel"], padding=b["kernel"] // 2)
        self.act = ACTS[b["act"]]()

    def forward(self, x):
        return self.act(self.conv(x))


class ConvBnAct(nn.Module):
    def __init__(self, cin, b):
        super().__init__()
        self.body = conv_bn_act(cin, b["width"], b["kernel"], b["act"])

    def forward(self, x):
        return self.body(x)


class ConvSE(nn.Module):
    def __init__(self, cin, b):
        super().__init__()
        w = b["width"]
        self.body = conv_bn_act(cin, w, b["kernel"], b["act"])
        r = max(1, w // 4)
        self.fc1 = nn.Conv2d(w, r, 1)
        self.fc2 = nn.Conv2d(r, w, 1)

    def forward(self, x):
        y = self.body(x)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(y, 1)))))
        return y * s


class MBConv(nn.Module):
    def __init__(self, cin, b, residual=True):
        super().__init__()
        e = cin * b["expansion"]
        self.expand = conv_bn_act(cin, e, 1, b["act"])
        self.dw = conv_bn_act(e, e, b["kernel"], b["act"], groups=e)
        self.project = conv_bn_act(e, b["width"], 1, None)
        self.residual = residual and cin == b["width"]

    def forward(self, x):
        y = self.project(self.dw(self.expand(x)))
        return x + y if self.residual else y


class ResNetBlock(nn.Module):
    def __init__(self, cin, b):
        super().__init__()
        w, k = b["width"], b["kernel"]
        self.c1 = conv_bn_act(cin, w, k, b["act"])
        self.c2 = conv_bn_act(w, w, k, None)
        self.short = None if cin == w else conv_bn_act(cin, w, 1, None)
        self.act = ACTS[b["act"]]()

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        return self.act(self.c2(self.c1(x)) + s)


class DenseNetBlock(nn.Module):
    def __init__(self, cin, b):
        super().__init__()
        w, k = b["width"], b["kernel"]
        g = max(4, w // 4)
        self.l1 = conv_bn_act(cin, g, k, b["act"])
        self.l2 = conv_bn_act(cin + g, g, k, b["act"])
        self.trans = conv_bn_act(cin + 2 * g, w, 1, b["act"])

    def forward(self, x):
        x1 = self.l1(x)
        x2 = self.l2(torch.cat([x, x1], 1))
        return self.trans(torch.cat([x, x1, x2], 1))


BLOCKS = {
    "ConvAct": ConvAct,
    "ConvBnAct": ConvBnAct,
    "ConvSE": ConvSE,
    "MBConv": MBConv,
    "MBConvNoRes": lambda cin, b: MBConv(cin, b, residual=False),
    "ResNetBlock": ResNetBlock,
    "DenseNetBlock": DenseNetBlock,
}


class Network(nn.Module):
    def __init__(self, genome, bands):
        super().__init__()
        blocks, self.pools, dec = parse_genome(genome)
        self.encoder = nn.ModuleList()
        cin = bands
        widths = []
        for b in blocks:
            self.encoder.append(BLOCKS[b["type"]](cin, b))
            cin = b["width"]
            widths.append(cin)
        self.up_proj, self.dec1, self.dec2 = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for skip_w in reversed(widths[:-1]):
            self.up_proj.append(nn.Conv2d(cin, skip_w, 1))
            self.dec1.append(conv_bn_act(2 * skip_w, dec, 3, "relu"))
            self.dec2.append(conv_bn_act(dec, dec, 3, "relu"))
            cin = dec
        self.head = nn.Conv2d(cin, 1, 1)

    def forward(self, x):
        skips = []
        for i, blk in enumerate(self.encoder):
            if i > 0:
                x = F.max_pool2d(x, 2) if self.pools[i - 1] == "max" else F.avg_pool2d(x, 2)
            x = blk(x)
            skips.append(x)
        for lvl in range(len(self.up_proj)):
            skip = skips[-2 - lvl]
            x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = self.up_proj[lvl](x)
            x = torch.cat([x, skip], 1)
            x = self.dec2[lvl](self.dec1[lvl](x))
        return self.head(x)
