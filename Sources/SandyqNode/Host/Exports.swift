// What a caller of the node needs to name, so that it imports SandyqNode alone: the domain
// types of SandyqCore, search and reports (the services return them), and the few
// SandyqCrypto types that cross the node's API, and the media findings attached files carry. Never the store or the sync engine.
@_exported import SandyqCore
@_exported import SandyqSearch
@_exported import SandyqReports
@_exported import SandyqMedia
@_exported import class SandyqCrypto.SecureBytes
@_exported import struct SandyqCrypto.SymmetricKey
@_exported import struct SandyqCrypto.SigningPublicKey
@_exported import struct SandyqCrypto.PasswordKDFParameters
