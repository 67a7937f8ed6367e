import * as pulumi from "@pulumi/pulumi";
import * as nexudus from "@nexudus-pulumi/nexudus";

const config = new pulumi.Config();
const businessId = config.getNumber("businessId") ?? 1001;
const adminUserId = config.getNumber("adminUserId") ?? 11;

// The stack's identity: drawn at the first `up`, the `#<stack id>` of every owner marker.
const identity = new nexudus.StackIdentity("identity");

const lobby = new nexudus.ChatRoom("lobby", {
    stackId: identity.stackId,
    businessId,
    name: "Lobby",
    active: true,
});

const makers = new nexudus.CommunityGroup("makers", {
    stackId: identity.stackId,
    businessId,
    name: "Makers",
    userId: adminUserId,
    groupAccess: "public",
    members: [adminUserId],
});

const welcome = new nexudus.CommunityThread("welcome", {
    stackId: identity.stackId,
    businessId,
    subject: "Welcome",
    message: "Read this first.",
    userId: adminUserId,
    communityGroupId: makers.id, // the thread depends on the group
});

// A second account (production), with its own address and secret password.
const production = new nexudus.Provider("production", {
    baseUrl: config.require("productionUrl"),
    username: config.require("productionUser"),
    password: config.requireSecret("productionPassword"),
});
const productionLobby = new nexudus.ChatRoom(
    "production-lobby",
    { stackId: identity.stackId, businessId: 1002, name: "Lobby" },
    { provider: production },
);

export const lobbyId = lobby.id;
export const lobbyMarker = lobby.systemId;
export const welcomeId = welcome.id;
export const productionLobbyId = productionLobby.id;
