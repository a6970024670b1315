"""The shared parts of reading files of any format: text encodings, GeoJSON documents and their CRS member.

The layer importer (gisgrid.io.readers) and the hotline importer (gisgrid.incidents.bulk_read) both read
through these, so a file is decoded, parsed and refused the same way whatever it is imported as.
"""
