//! Room membership behind a trait: in memory by default; a cluster adapter implements the
//! same trait.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::SocketId;
use crate::Str;

/// A room name.
pub type Room = Str;

/// Room membership for the sockets of every namespace, as the reference's `Adapter`.
pub trait Adapter: std::fmt::Debug {
    /// Adds `socket` (of `namespace`) to `rooms`.
    fn add_all(&mut self, namespace: &Str, socket: &SocketId, rooms: &[Room]);
    /// Removes `socket` from `room`.
    fn del(&mut self, namespace: &Str, socket: &SocketId, room: &Room);
    /// Removes `socket` from every room (it disconnected).
    fn del_all(&mut self, namespace: &Str, socket: &SocketId);
    /// The rooms `socket` is in.
    fn rooms_of(&self, namespace: &Str, socket: &SocketId) -> Vec<Room>;
    /// The sockets of `namespace` in any of `rooms` (all of the namespace's sockets when
    /// `rooms` is empty) and in none of `except`, each once, in a stable order.
    fn sockets(&self, namespace: &Str, rooms: &[Room], except: &[Room]) -> Vec<SocketId>;
    /// Every room of `namespace` (including each socket's own-id room).
    fn all_rooms(&self, namespace: &Str) -> Vec<Room>;
    /// Sends a server-side event to the other servers of a cluster; returns how many will
    /// receive it. In memory there are none.
    fn server_side_emit(&mut self, _namespace: &Str, _packet: &crate::Packet) -> usize {
        0
    }
}

#[derive(Debug, Default)]
struct NamespaceRooms {
    rooms: HashMap<Room, BTreeSet<SocketId>>,
    sids: HashMap<SocketId, HashSet<Room>>,
    /// Sockets in the order they joined, so broadcasts to the whole namespace are stable.
    all: BTreeSet<SocketId>,
}

/// The default adapter: rooms held in memory, for one server process.
#[derive(Debug, Default)]
pub struct MemoryAdapter {
    namespaces: HashMap<Str, NamespaceRooms>,
}

impl Adapter for MemoryAdapter {
    fn add_all(&mut self, namespace: &Str, socket: &SocketId, rooms: &[Room]) {
        let ns = self.namespaces.entry(namespace.clone()).or_default();
        ns.all.insert(socket.clone());
        let joined = ns.sids.entry(socket.clone()).or_default();
        for room in rooms {
            if joined.insert(room.clone()) {
                ns.rooms
                    .entry(room.clone())
                    .or_default()
                    .insert(socket.clone());
            }
        }
    }

    fn del(&mut self, namespace: &Str, socket: &SocketId, room: &Room) {
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        if let Some(joined) = ns.sids.get_mut(socket) {
            joined.remove(room);
        }
        if let Some(members) = ns.rooms.get_mut(room) {
            members.remove(socket);
            if members.is_empty() {
                ns.rooms.remove(room);
            }
        }
    }

    fn del_all(&mut self, namespace: &Str, socket: &SocketId) {
        let Some(ns) = self.namespaces.get_mut(namespace) else {
            return;
        };
        ns.all.remove(socket);
        for room in ns.sids.remove(socket).unwrap_or_default() {
            if let Some(members) = ns.rooms.get_mut(&room) {
                members.remove(socket);
                if members.is_empty() {
                    ns.rooms.remove(&room);
                }
            }
        }
    }

    fn rooms_of(&self, namespace: &Str, socket: &SocketId) -> Vec<Room> {
        let mut rooms: Vec<Room> = self
            .namespaces
            .get(namespace)
            .and_then(|ns| ns.sids.get(socket))
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default();
        rooms.sort();
        rooms
    }

    fn sockets(&self, namespace: &Str, rooms: &[Room], except: &[Room]) -> Vec<SocketId> {
        let Some(ns) = self.namespaces.get(namespace) else {
            return Vec::new();
        };
        let excluded = |s: &SocketId| {
            except
                .iter()
                .any(|r| ns.rooms.get(r).is_some_and(|m| m.contains(s)))
        };
        if rooms.is_empty() {
            return ns.all.iter().filter(|s| !excluded(s)).cloned().collect();
        }
        let mut out = BTreeSet::new();
        for room in rooms {
            if let Some(members) = ns.rooms.get(room) {
                out.extend(members.iter().filter(|s| !excluded(s)).cloned());
            }
        }
        out.into_iter().collect()
    }

    fn all_rooms(&self, namespace: &Str) -> Vec<Room> {
        let mut rooms: Vec<Room> = self
            .namespaces
            .get(namespace)
            .map(|ns| ns.rooms.keys().cloned().collect())
            .unwrap_or_default();
        rooms.sort();
        rooms
    }
}
