"""The front end of a network for sound: a batch of waves (B, 1, S) -> features (B, 1, H, W)
on the waves' own device, in whole-batch torch operations, for a CNN to read as a picture.

The steps, each a function a test checks against an independent reference:

    wave --stft_power--> power (B, F, T) --mel_filterbank--> mel power (B, M, T)
         --to_db--> dB --dct_matrix--> MFCC (B, C, T)          then each clip standardised

F = window // 2 + 1 frequency bins, T = S // hop + 1 frames (centred frames, reflect padding),
M = `mels` bands, C = min(20, M) coefficients. `AudioFeatures` is the same pipeline as an
`nn.Module` (the first layer of a sound network) with SpecAugment-style masks while training.

Part of the core: torch and numpy only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from dlviz.data.base import AudioInfo

FEATURES = ("mel", "stft", "mfcc", "wave")
N_MFCC = 20  # cepstral coefficients kept (fewer when there are fewer mel bands)
DB_FLOOR = 1e-10  # power below this reads as -100 dB (silence would otherwise be -inf)
STD_EPS = 1e-5  # the least std divided by: a silent clip standardises to zeros, not NaN


# --- the steps -----------------------------------------------------------------------------


def hann_window(
    window: int, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The periodic Hann window of `window` samples, 0.5 - 0.5 cos(2 pi n / window): the one
    whose shifted copies at hop window/2 sum to a constant (what spectrogram code uses)."""
    return torch.hann_window(window, periodic=True, device=device, dtype=dtype)


def n_frames(samples: int, window: int, hop: int) -> int:
    """Frames of a centred STFT (window // 2 samples of padding each side): S // hop + 1 for an
    even window."""
    return (samples + 2 * (window // 2) - window) // hop + 1


def stft_power(
    waves: torch.Tensor, window: int, hop: int, win: torch.Tensor | None = None
) -> torch.Tensor:
    """waves (B, S) -> the power spectrogram |X|^2 (B, window // 2 + 1, frames).

    `torch.stft` with n_fft = `window`, a periodic Hann window (or `win`, precomputed), centred
    frames and reflect padding, so frame t is centred on sample t * hop. A clip must be longer
    than half a window (reflect padding needs it); ValueError otherwise.
    """
    if waves.shape[-1] <= window // 2:
        raise ValueError(
            f"a clip of {waves.shape[-1]} samples is too short for a window of {window}: "
            f"it needs more than {window // 2} samples; use a longer clip or a smaller window"
        )
    if win is None:
        win = hann_window(window, waves.device, waves.dtype)
    spec = torch.stft(
        waves,
        n_fft=window,
        hop_length=hop,
        win_length=window,
        window=win.to(device=waves.device, dtype=waves.dtype),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return spec.real.square() + spec.imag.square()


def hz_to_mel(f: Any) -> Any:
    """The HTK mel scale: m = 2595 log10(1 + f / 700) (numpy arrays or floats)."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: Any) -> Any:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_points(
    n_mels: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None
) -> np.ndarray:
    """The n_mels + 2 corner frequencies in Hz, equally spaced in mel from f_min to f_max
    (default sample_rate / 2): band i rises from point i, peaks at point i + 1 (its centre)
    and falls to zero at point i + 2."""
    f_max = sample_rate / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise ValueError(f"need 0 <= f_min < f_max <= {sample_rate / 2:g} Hz")
    pts = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    pts[0], pts[-1] = f_min, f_max  # exact ends: bins at f_max get 0, not a rounding error
    return pts


def mel_filterbank(
    n_mels: int, n_fft: int, sample_rate: int, f_min: float = 0.0, f_max: float | None = None
) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1): mel power = fb @ power.

    Triangular filters equally spaced on the HTK mel scale, each 1 at its centre frequency and 0
    at its neighbours' centres, linear in Hz between (torchaudio's
    `melscale_fbanks(norm=None, mel_scale="htk")`, transposed). Not area-normalised (no Slaney
    norm): a wide high band sums more bins than a narrow low one, which the per-clip
    standardisation after dB leaves alone. Bin k is at k * sample_rate / n_fft Hz (the same as
    torchaudio for an even n_fft). Bins outside (f_min, f_max) are zero. With many bands and a
    short window the lowest bands can be narrower than a bin and catch none: they read as
    silence.
    """
    pts = mel_points(n_mels, sample_rate, f_min, f_max)  # (M + 2,)
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft  # (F,)
    lo, mid, hi = pts[:-2, None], pts[1:-1, None], pts[2:, None]  # (M, 1) each
    rise = (freqs - lo) / (mid - lo)
    fall = (hi - freqs) / (hi - mid)
    return torch.from_numpy(np.maximum(0.0, np.minimum(rise, fall))).float()


def dct_matrix(n_mfcc: int, n_mels: int) -> torch.Tensor:
    """(n_mfcc, n_mels), the first rows of the orthonormal DCT-II:
    D[k, n] = s_k cos(pi k (n + 1/2) / N), s_0 = sqrt(1/N), s_k = sqrt(2/N). MFCC = D @ log-mel."""
    if not 1 <= n_mfcc <= n_mels:
        raise ValueError(f"need 1 <= n_mfcc <= n_mels, got {n_mfcc} and {n_mels}")
    k = np.arange(n_mfcc)[:, None]
    n = np.arange(n_mels)[None, :]
    d = np.cos(math.pi * k * (n + 0.5) / n_mels) * math.sqrt(2.0 / n_mels)
    d[0] /= math.sqrt(2.0)
    return torch.from_numpy(d).float()


def to_db(power: torch.Tensor) -> torch.Tensor:
    """10 log10(max(power, 1e-10)): decibels, silence floored at -100 dB."""
    return 10.0 * torch.log10(power.clamp(min=DB_FLOOR))


def standardize(x: torch.Tensor) -> torch.Tensor:
    """(B, ...) -> each clip minus its own mean, over its own std (at least 1e-5), both taken
    over all its values.

    After dB a louder recording of the same sound is the same image plus a constant, so this
    makes stft and mel features gain-invariant (how far the microphone was does not change the
    class). Not MFCC: a constant in dB moves only coefficient 0 (the DCT of a constant), so
    loudness stays in that row. And it gives every clip one fixed scale, which a network with
    no normalisation layer (the Image lab's plain CNN) needs to train at the usual learning
    rates. A silent clip gives zeros (for MFCC, its constant -100 dB's pattern).
    """
    dims = tuple(range(1, x.dim()))
    centred = x - x.mean(dim=dims, keepdim=True)
    # two passes by hand: a few times faster than torch.std on the CPU
    std = centred.square().mean(dim=dims, keepdim=True).sqrt()
    return centred / std.clamp(min=STD_EPS)  # exactly unit std unless (nearly) silent


def n_mfcc(info: AudioInfo) -> int:
    return min(N_MFCC, info.mels)


# --- the pipeline --------------------------------------------------------------------------


def check_info(info: AudioInfo) -> None:
    """ValueError naming the first setting a front end cannot use."""
    if info.features not in FEATURES:
        raise ValueError(f"unknown features {info.features!r}: choose one of {', '.join(FEATURES)}")
    if info.window < 2 or info.hop < 1 or info.mels < 1 or info.sample_rate < 1:
        raise ValueError(
            "window must be at least 2 samples, hop at least 1 sample and mels at least 1; "
            f"got window {info.window}, hop {info.hop}, mels {info.mels}"
        )


def _matrices(info: AudioInfo) -> dict[str, torch.Tensor]:
    """The constant tensors `info`'s features need: the window, the mel filters, the DCT."""
    check_info(info)
    mats: dict[str, torch.Tensor] = {}
    if info.features != "wave":
        mats["win"] = hann_window(info.window)
    if info.features in ("mel", "mfcc"):
        mats["fb"] = mel_filterbank(info.mels, info.window, info.sample_rate)
    if info.features == "mfcc":
        mats["dct"] = dct_matrix(n_mfcc(info), info.mels)
    return mats


def _as_batch(waves: torch.Tensor) -> torch.Tensor:
    """(B, 1, S) or (B, S) -> (B, S)."""
    if waves.dim() == 3 and waves.shape[1] == 1:
        return waves[:, 0]
    if waves.dim() == 2:
        return waves
    raise ValueError(f"expected waves (B, 1, S) or (B, S), got shape {tuple(waves.shape)}")


def _features(waves: torch.Tensor, info: AudioInfo, mats: dict[str, torch.Tensor]) -> torch.Tensor:
    x = _as_batch(waves)  # (B, S)
    if info.features == "wave":
        return standardize(x[:, None])  # (B, 1, S)
    mats = {k: v.to(device=x.device, dtype=x.dtype) for k, v in mats.items()}
    power = stft_power(x, info.window, info.hop, mats["win"])  # (B, F, T)
    if info.features == "stft":
        img = to_db(power)
    else:
        img = to_db(mats["fb"] @ power)  # (M, F) @ (B, F, T) -> (B, M, T)
        if info.features == "mfcc":
            img = mats["dct"] @ img  # (C, M) @ (B, M, T) -> (B, C, T)
    return standardize(img[:, None])  # (B, 1, H, T)


def features(waves: torch.Tensor, info: AudioInfo) -> torch.Tensor:
    """waves (B, 1, S) or (B, S) -> features (B, 1, H, T) on the same device, each clip
    standardised after dB (`standardize`). H: window // 2 + 1 (stft), mels (mel), min(20, mels)
    (mfcc). For ``wave`` the waves themselves, (B, 1, S), standardised the same way."""
    return _features(waves, info, _matrices(info))


def feature_shape(info: AudioInfo, samples: int) -> tuple[int, ...]:
    """The shape of one clip's features, without computing them: (1, H, T) or (1, S)."""
    check_info(info)
    if info.features == "wave":
        return (1, samples)
    rows = {"stft": info.window // 2 + 1, "mel": info.mels, "mfcc": n_mfcc(info)}
    return (1, rows[info.features], n_frames(samples, info.window, info.hop))


class AudioFeatures(nn.Module):
    """The front end as a layer: (B, 1, S) or (B, S) -> `features` (B, 1, H, T).

    Its window and matrices are non-persistent buffers: they follow `.to(device)` but a state
    dict holds only trained weights (this module has none). `set_masks` turns on SpecAugment's
    time and frequency masks (Park et al. 2019) for training; eval mode never masks.
    """

    def __init__(self, info: AudioInfo):
        super().__init__()
        self.info = info
        self._names: list[str] = []
        for name, value in _matrices(info).items():
            self.register_buffer(name, value, persistent=False)
            self._names.append(name)
        self.mask_time = 0
        self.mask_freq = 0
        self._gen = torch.Generator()

    def set_masks(self, time: int, freq: int, seed: int = 0) -> None:
        """While training, hide one run of up to `time` frames and one band of up to `freq`
        rows of each clip (widths uniform in 0..limit, positions uniform), set to 0: the
        standardised mean. Drawn from this module's own generator, seeded with `seed`, on the
        CPU, so the same seed gives the same masks on any device. 0 and 0 turn masking off.
        Not applied to ``wave`` features (they have neither frames nor rows)."""
        if time < 0 or freq < 0:
            raise ValueError(f"mask widths must be 0 or more, got time {time} and freq {freq}")
        self.mask_time, self.mask_freq = time, freq
        self._gen = torch.Generator().manual_seed(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = _features(x, self.info, {n: getattr(self, n) for n in self._names})
        if self.training and self.info.features != "wave" and (self.mask_time or self.mask_freq):
            b, _, h, w = out.shape
            hide = _spans(b, w, self.mask_time, self._gen)[:, None, None, :]  # (B, 1, 1, T)
            hide = hide | _spans(b, h, self.mask_freq, self._gen)[:, None, :, None]  # (B,1,H,T)
            out = out.masked_fill(hide.to(out.device), 0.0)
        return out

    def extra_repr(self) -> str:
        i = self.info
        return f"{i.features}, window={i.window}, hop={i.hop}, mels={i.mels}, sr={i.sample_rate}"


def _spans(batch: int, length: int, limit: int, gen: torch.Generator) -> torch.Tensor:
    """(batch, length) bool: one run per row, of width uniform in 0..min(limit, length), at a
    uniform start where it fits. Drawn on the CPU from `gen`."""
    widths = torch.randint(0, min(limit, length) + 1, (batch,), generator=gen)
    starts = (torch.rand(batch, generator=gen) * (length - widths + 1)).long()
    idx = torch.arange(length)
    return (idx >= starts[:, None]) & (idx < (starts + widths)[:, None])


# --- for drawing ---------------------------------------------------------------------------


def axes(info: AudioInfo, samples: int) -> dict[str, Any]:
    """What the features' axes mean, for drawing: ``rows`` (H,) — each row's frequency in Hz
    (stft bins, mel band centres) or, for mfcc, the coefficient index; ``rows_unit`` ("Hz" or
    "coefficient"); ``times`` (T,) — each frame's centre in seconds (for wave, each sample's)."""
    check_info(info)
    sr = info.sample_rate
    if info.features == "wave":
        return {"rows": np.zeros(1), "rows_unit": "", "times": np.arange(samples) / sr}
    times = np.arange(n_frames(samples, info.window, info.hop)) * info.hop / sr
    if info.features == "stft":
        rows = np.arange(info.window // 2 + 1) * sr / info.window
    elif info.features == "mel":
        rows = mel_points(info.mels, sr)[1:-1]
    else:
        rows = np.arange(n_mfcc(info), dtype=np.float64)
    return {
        "rows": rows,
        "rows_unit": "coefficient" if info.features == "mfcc" else "Hz",
        "times": times,
    }


@torch.no_grad()
def feature_steps(wave: np.ndarray | torch.Tensor, info: AudioInfo) -> dict[str, np.ndarray]:
    """One clip (S,) through every step, side by side, for a person to see: ``wave`` (S,),
    ``stft_db`` (F, T), ``mel_db`` (M, T) and ``mfcc`` (C, T), in dB before standardisation
    (whatever `info.features` is), as numpy float32."""
    check_info(info)
    x = torch.as_tensor(wave, dtype=torch.float32).detach().cpu().reshape(1, -1)  # (1, S)
    power = stft_power(x, info.window, info.hop)[0]  # (F, T)
    mel_db = to_db(mel_filterbank(info.mels, info.window, info.sample_rate) @ power)
    mfcc = dct_matrix(n_mfcc(info), info.mels) @ mel_db
    steps = {"wave": x[0], "stft_db": to_db(power), "mel_db": mel_db, "mfcc": mfcc}
    return {k: v.numpy().astype(np.float32) for k, v in steps.items()}
