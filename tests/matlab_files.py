"""Write MATLAB v7.3 .mat files the way MATLAB (and CaliAli_save) does, with h5py only.

Independent of hdf5storage (which caliali-tk uses to write its own .mat):
values are given as MATLAB sees them and stored as MATLAB stores them.

- the 512-byte user block starting "MATLAB 7.3 MAT-file";
- every object has ``MATLAB_class``; a struct is a group with
  ``MATLAB_fields``;
- arrays are stored with their axes reversed (a d1 x d2 x T movie is seen as
  (T, d2, d1) by h5py, a 1 x n row vector as (n, 1), a scalar as (1, 1));
- logicals are uint8 with ``MATLAB_int_decode = 1``; char arrays uint16
  code points with ``MATLAB_int_decode = 2``; an empty array stores its
  dimensions with ``MATLAB_empty = 1``.
"""
import numpy as np
import h5py

HEADER = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  5 10:00:00 2026 "
          b"HDF5 schema 1.00 .")
_CLASSES = {"f8": "double", "f4": "single", "u1": "uint8", "u2": "uint16", "i2": "int16",
            "i4": "int32", "u4": "uint32", "i8": "int64", "u8": "uint64"}


def _attr(obj, name, text):
    obj.attrs.create(name, np.bytes_(text))


def _write(parent, name, value):
    if isinstance(value, dict):
        group = parent.create_group(name)
        _attr(group, "MATLAB_class", "struct")
        for key, item in value.items():
            _write(group, key, item)
        fields = np.empty(len(value), dtype=h5py.vlen_dtype(np.dtype("S1")))
        for i, key in enumerate(value):
            fields[i] = np.array(list(key), dtype="S1")
        group.attrs.create("MATLAB_fields", fields)
        return
    if value is None:  # [] : MATLAB stores the dimensions 0 x 0
        ds = parent.create_dataset(name, data=np.array([0, 0], np.uint64))
        _attr(ds, "MATLAB_class", "double")
        ds.attrs.create("MATLAB_empty", np.uint8(1))
        return
    if isinstance(value, str):
        codes = np.array([[ord(c) for c in value]], np.uint16)  # 1 x n
        ds = parent.create_dataset(name, data=codes.T)
        _attr(ds, "MATLAB_class", "char")
        ds.attrs.create("MATLAB_int_decode", np.int32(2))
        return
    arr = np.asarray(value)
    if arr.ndim < 2:
        arr = arr.reshape(1, -1)  # a MATLAB scalar is 1 x 1, a vector 1 x n
    if arr.dtype == bool:
        ds = parent.create_dataset(name, data=np.ascontiguousarray(arr.T).astype(np.uint8))
        _attr(ds, "MATLAB_class", "logical")
        ds.attrs.create("MATLAB_int_decode", np.int32(1))
        return
    data = np.ascontiguousarray(arr.T)
    ds = parent.create_dataset(name, data=data, chunks=_chunks(data))
    _attr(ds, "MATLAB_class", _CLASSES[arr.dtype.str[1:]])


def _chunks(data):
    if data.ndim == 3:  # a movie: MATLAB chunks it frame-wise
        return (1,) + data.shape[1:]
    return None


def write_mat73(path, variables):
    """Write `variables` (name -> value as MATLAB sees it) as a v7.3 .mat; returns path."""
    with h5py.File(path, "w", userblock_size=512, libver="earliest") as f:
        for name, value in variables.items():
            _write(f, name, value)
    block = HEADER.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as fh:
        fh.write(block.ljust(512, b"\x00"))
    return path


def movie_for_matlab(display):
    """Display frames (T, H, W) as MATLAB's d1 x d2 x T array (uint16)."""
    return np.clip(np.rint(display), 0, 65535).astype(np.uint16).transpose(1, 2, 0)


def caliali_options(seed_mask=None, **cnmf):
    """A ``CaliAli_options`` struct as CaliAli's parameter functions build it."""
    cnmf_struct = {"gSig": 2.5, "gSiz": None, "min_corr": 0.1, "min_pnr": 1.5,
                   "merge_thr": 0.65, "merge_thr_spatial": np.array([0.8, 0.4, -np.inf]),
                   "dmin": 5.0, "bg_neuron_factor": 1.5, "bg_ssub": 2.0, "sf": 10.0,
                   "deconv_options": {"type": "ar1", "method": "foopsi", "smin": -5.0},
                   "seed_mask": seed_mask}
    cnmf_struct.update(cnmf)
    return {
        "downsampling": {"spatial_ds": 2.0, "temporal_ds": 1.0, "sf": 10.0},
        "preprocessing": {"sf": 10.0, "gSig": 2.5, "structure": "neuron",
                          "detrend": 1.0, "noise_scale": True},
        "inter_session_alignment": {"F": np.array([1000.0]), "gSig": 2.5, "sf": 10.0},
        "cnmf": cnmf_struct,
    }
