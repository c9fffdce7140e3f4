import type { ConnectRouter } from '@connectrpc/connect';
import { CatalogService } from '@wavecast/contracts/gen/wavecast/catalog/v1/catalog_pb.js';
import type { VideoService } from '../video.service.ts';
import { orderFromProto, videoToProto, visibilityFromProto } from './mapping.ts';

/** gRPC handlers: map proto <-> domain, nothing else. */
export function catalogRoutes(videos: VideoService) {
  return (router: ConnectRouter) =>
    router.service(CatalogService, {
      async createVideo(req) {
        const view = await videos.create(req.ownerId, {
          title: req.title,
          description: req.description,
          tags: req.tags,
          visibility: visibilityFromProto(req.visibility) ?? 'public',
        });
        return { video: videoToProto(view) };
      },
      async getVideo(req) {
        return { video: videoToProto(await videos.get(req.videoId, req.viewerId)) };
      },
      async listVideos(req) {
        const page = await videos.listPublic({
          order: orderFromProto(req.sort),
          query: req.query,
          pageSize: req.pageSize,
          pageToken: req.pageToken,
        });
        return { videos: page.items.map(videoToProto), nextPageToken: page.nextPageToken };
      },
      async listOwnVideos(req) {
        const page = await videos.listOwn(req);
        return { videos: page.items.map(videoToProto), nextPageToken: page.nextPageToken };
      },
      async updateVideo(req) {
        const view = await videos.update(req.videoId, req.actorId, {
          title: req.title,
          description: req.description,
          tags: req.setTags ? req.tags : undefined,
          visibility: visibilityFromProto(req.visibility),
        });
        return { video: videoToProto(view) };
      },
      async deleteVideo(req) {
        await videos.delete(req.videoId, req.actorId);
        return {};
      },
      async authorizeUpload(req) {
        return videos.authorizeUpload(req.videoId, req.actorId);
      },
      async recordView(req) {
        const { counted, viewCount } = await videos.recordView(req.videoId, req.viewerSession);
        return { counted, viewCount: BigInt(viewCount) };
      },
    });
}
