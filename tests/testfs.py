"""A `testfs://` filesystem for tests: a URI scheme that Beam's FileSystems and TFX's fileio know (both registered
here, mapping `testfs://<path>` to a private local folder) and nothing else does: open(), os.path and pandas see no
such file, and pyarrow and TensorFlow's gfile refuse the scheme. Code that runs under it reads and writes artifact
URIs only through Beam's or TFX's filesystem layers, as it must for gs:// and s3://.

Registered for the process that imports this module: Beam's `in_memory` mode runs its workers in that process;
`multi_processing` workers would have to import it too.
"""
import os
import shutil

from apache_beam.io.filesystem import BeamIOError, FileMetadata
from apache_beam.io.localfilesystem import LocalFileSystem
from tfx.dsl.io import filesystem, filesystem_registry
from tfx.dsl.io.plugins.local import LocalFilesystem

SCHEME = "testfs"  # not "mock": pyarrow has a mock:// of its own (in memory)
PREFIX = f"{SCHEME}://"


class _Root:
    folder = None  # the local folder behind testfs://, set by use_root()


def use_root(folder):
    """Maps testfs:// to `folder` (a local directory) from now on."""
    _Root.folder = os.path.abspath(str(folder))


def to_local(uri):
    uri = uri.decode() if isinstance(uri, bytes) else str(uri)
    if not uri.startswith(PREFIX):
        raise ValueError(f"not a {PREFIX} URI: {uri}")
    assert _Root.folder, "testfs.use_root() first"
    return os.path.join(_Root.folder, uri[len(PREFIX):].lstrip("/"))


def to_uri(path):
    return PREFIX + os.path.relpath(path, _Root.folder).replace(os.sep, "/")


class BeamFileSystem(LocalFileSystem):
    """Beam's FileSystem for testfs:// (found by `FileSystems` through its `scheme()`)."""

    @classmethod
    def scheme(cls):
        return SCHEME

    def join(self, basepath, *paths):
        return "/".join([basepath.rstrip("/"), *(p.strip("/") for p in paths)])

    def split(self, path):
        head, _, tail = path.rpartition("/")
        return head, tail

    def mkdirs(self, path):
        super().mkdirs(to_local(path))

    def _list(self, dir_or_prefix):  # LocalFileSystem._list calls our exists() and join() on local paths
        for folder, _, files in os.walk(to_local(dir_or_prefix)):
            for name in files:
                path = os.path.join(folder, name)
                yield FileMetadata(to_uri(path), os.path.getsize(path), os.path.getmtime(path))

    def create(self, path, *args, **kwargs):
        return super().create(to_local(path), *args, **kwargs)

    def open(self, path, *args, **kwargs):
        return super().open(to_local(path), *args, **kwargs)

    def copy(self, source_file_names, destination_file_names):
        super().copy([to_local(p) for p in source_file_names], [to_local(p) for p in destination_file_names])

    def rename(self, source_file_names, destination_file_names):
        super().rename([to_local(p) for p in source_file_names], [to_local(p) for p in destination_file_names])

    def exists(self, path):
        return super().exists(to_local(path))

    def size(self, path):
        return super().size(to_local(path))

    def last_updated(self, path):
        return super().last_updated(to_local(path))

    def checksum(self, path):
        return super().checksum(to_local(path))

    def metadata(self, path):  # LocalFileSystem.metadata checks self.exists() on the local path: not reused
        local = to_local(path)
        if not os.path.exists(local):
            raise BeamIOError(f"Path does not exist: {path}")
        return FileMetadata(path, os.path.getsize(local), os.path.getmtime(local))

    def delete(self, paths):  # LocalFileSystem.delete matches its (local) paths through our match(): not reused
        missing = {}
        for path in paths:
            local = to_local(path)
            if os.path.isdir(local):
                shutil.rmtree(local)
            elif os.path.exists(local):
                os.remove(local)
            else:
                missing[path] = IOError(f"no such file: {path}")
        if missing:
            raise BeamIOError("Delete operation failed", missing)


class FileioFilesystem(filesystem.Filesystem):
    """TFX fileio's plugin for testfs:// (TFX's local plugin on the mapped path)."""
    SUPPORTED_SCHEMES = [PREFIX]

    @staticmethod
    def open(name, mode="r"):
        return LocalFilesystem.open(to_local(name), mode)

    @staticmethod
    def copy(src, dst, overwrite=False):
        LocalFilesystem.copy(to_local(src), to_local(dst), overwrite)

    @staticmethod
    def exists(path):
        return LocalFilesystem.exists(to_local(path))

    @staticmethod
    def glob(pattern):
        return [to_uri(p) for p in LocalFilesystem.glob(to_local(pattern))]

    @staticmethod
    def isdir(path):
        return LocalFilesystem.isdir(to_local(path))

    @staticmethod
    def listdir(path):
        return LocalFilesystem.listdir(to_local(path))

    @staticmethod
    def makedirs(path):
        LocalFilesystem.makedirs(to_local(path))

    @staticmethod
    def mkdir(path):
        LocalFilesystem.mkdir(to_local(path))

    @staticmethod
    def remove(path):
        LocalFilesystem.remove(to_local(path))

    @staticmethod
    def rename(src, dst, overwrite=False):
        LocalFilesystem.rename(to_local(src), to_local(dst), overwrite)

    @staticmethod
    def rmtree(path):
        LocalFilesystem.rmtree(to_local(path))

    @staticmethod
    def stat(path):
        return LocalFilesystem.stat(to_local(path))

    @staticmethod
    def walk(top, topdown=True, onerror=None):
        for folder, subfolders, files in LocalFilesystem.walk(to_local(top), topdown, onerror):
            yield to_uri(folder), subfolders, files


filesystem_registry.DEFAULT_FILESYSTEM_REGISTRY.register(FileioFilesystem, priority=0)
