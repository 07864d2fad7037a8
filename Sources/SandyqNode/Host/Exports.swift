// What a caller of the node needs to name, so that it imports SandyqNode alone: the domain
// types of SandyqCore, and the few SandyqCrypto types that cross the node's API.
@_exported import SandyqCore
@_exported import class SandyqCrypto.SecureBytes
@_exported import struct SandyqCrypto.SymmetricKey
@_exported import struct SandyqCrypto.PasswordKDFParameters
