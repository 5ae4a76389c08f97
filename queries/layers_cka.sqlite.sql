SELECT la."index" AS layer, lb."index" AS other_layer, layer_similarity.value AS value 
FROM layer_similarity JOIN layer AS la ON la.id = layer_similarity.layer_id JOIN layer AS lb ON lb.id = layer_similarity.other_layer_id 
WHERE layer_similarity.correlation_id = ? AND layer_similarity.method = ? AND la.model_id = ? AND lb.model_id = ? AND la.site = ? AND lb.site = ? ORDER BY la."index", lb."index"
-- parameters: {'correlation_id_1': 2, 'method_1': 'cka', 'model_id_1': 3, 'model_id_2': 2, 'site_1': 'mlp', 'site_2': 'mlp'}
