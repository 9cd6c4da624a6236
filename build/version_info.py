"""The Windows version resource of caliali-tk.exe, from ``caliali_tk.__version__``."""

import re


def version_tuple(version: str) -> tuple:
    """``"1.2.3rc1"`` -> ``(1, 2, 3, 0)``: the first four numbers, zero-padded."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("+")[0])[:4]]
    return tuple(numbers + [0] * (4 - len(numbers)))


def version_info(version: str, exe_name: str):
    """A VSVersionInfo for `exe_name` (e.g. ``caliali-tk.exe``); Windows only (pefile)."""
    from PyInstaller.utils.win32.versioninfo import (FixedFileInfo, StringFileInfo,
                                                     StringStruct, StringTable,
                                                     VarFileInfo, VarStruct,
                                                     VSVersionInfo)
    vt = version_tuple(version)
    strings = [
        StringStruct("CompanyName", "caliali-tk developers"),
        StringStruct("FileDescription", "caliali-tk: CaliAli CNMF-E neuron extraction"),
        StringStruct("FileVersion", version),
        StringStruct("InternalName", exe_name.rsplit(".", 1)[0]),
        StringStruct("LegalCopyright", "BSD-3-Clause"),
        StringStruct("OriginalFilename", exe_name),
        StringStruct("ProductName", "caliali-tk"),
        StringStruct("ProductVersion", version),
    ]
    return VSVersionInfo(
        ffi=FixedFileInfo(filevers=vt, prodvers=vt, mask=0x3F, flags=0x0, OS=0x40004,
                          fileType=0x1, subtype=0x0, date=(0, 0)),
        kids=[StringFileInfo([StringTable("040904B0", strings)]),
              VarFileInfo([VarStruct("Translation", [0x0409, 1200])])])
